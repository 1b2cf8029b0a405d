//! Bindings of the text stage: `Normalizer` and `Tokenizer` (and, as it lands, `Segmenter`).
//!
//! Strings are copied out of Python while the GIL is held; batches are then processed in
//! parallel by the core's batch functions with the GIL released, in chunks between which Ctrl-C
//! is honoured. A Python string holding a lone surrogate cannot be UTF-8: the `Normalizer`
//! passes it to the core as surrogate-passing UTF-8 and keeps the surrogates where they are (as
//! CCNet's normalizer does); elsewhere it raises `kneser.FormatError` (a `ValueError`) naming the
//! position, never a panic.

use std::sync::Arc;

use kneser::{
    is_python_space, CcnetOptions, DigitMode, FlatTokens, NormalizeStep, Normalizer, PunctMode,
    Stopwords, Tokenizer, TokenizerMode, Ucs4Out, UnicodeForm,
};
use pyo3::exceptions::{PyTypeError, PyUnicodeEncodeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};

use crate::borrow::utf8_of;
use crate::detach::{detach_short, guarded, run_detached};
use crate::errors::format_error;
use crate::segment::PySegmenter;
use crate::sources::type_name;

/// Texts per parallel chunk of a batch call (Ctrl-C is checked between chunks).
const CHUNK: usize = 16_384;

/// Texts longer than this are processed with the GIL released even in single calls.
const DETACH_BYTES: usize = 1 << 16;

/// Copies a Python `str` into Rust, turning a lone surrogate into `kneser.FormatError`.
pub(crate) fn extract_text(obj: &Bound<'_, PyAny>, index: Option<usize>) -> PyResult<String> {
    let py = obj.py();
    let s = obj.cast::<PyString>().map_err(|_| {
        let at = index.map(|i| format!(" at index {i}")).unwrap_or_default();
        PyTypeError::new_err(format!("expected str{at}, got {}", type_name(obj)))
    })?;
    match s.to_cow() {
        Ok(cow) => Ok(cow.into_owned()),
        Err(err) if err.is_instance_of::<PyUnicodeEncodeError>(py) => {
            let start: Option<usize> = err
                .value(py)
                .getattr("start")
                .and_then(|v| v.extract())
                .ok();
            let code = start
                .and_then(|i| s.get_item(i).ok())
                .and_then(|c| c.call_method0("__repr__").ok())
                .map(|r| r.to_string())
                .unwrap_or_else(|| "?".into());
            let item = index
                .map(|i| format!("text {i} of the batch "))
                .unwrap_or_default();
            let pos = start
                .map(|i| format!(" at position {i}"))
                .unwrap_or_default();
            Err(format_error(
                py,
                format!(
                    "{item}holds a lone surrogate {code}{pos}, which is not valid Unicode text \
                     and cannot be encoded as UTF-8; fix the decoding that produced it (for \
                     example decode with errors=\"replace\")"
                ),
                Some(err),
            ))
        }
        Err(err) => Err(err),
    }
}

/// Copies an iterable of `str` into Rust (with the GIL held).
fn extract_texts(texts: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if texts.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "expected an iterable of str, got a single str (wrap it in a list)",
        ));
    }
    let mut out = Vec::with_capacity(texts.len().unwrap_or(0));
    for (i, item) in texts.try_iter()?.enumerate() {
        out.push(extract_text(&item?, Some(i))?);
    }
    Ok(out)
}

/// A text for the normalizer: valid Unicode, or a `str` holding lone surrogates, carried as
/// surrogate-passing UTF-8 (`s.encode("utf-8", "surrogatepass")`) for the core to keep them.
enum NormText {
    Utf8(String),
    Surrogates(Vec<u8>),
}

impl NormText {
    fn extract(obj: &Bound<'_, PyAny>, index: Option<usize>) -> PyResult<NormText> {
        let py = obj.py();
        if let Ok(s) = obj.cast::<PyString>() {
            match s.to_cow() {
                Ok(cow) => return Ok(NormText::Utf8(cow.into_owned())),
                Err(err) if err.is_instance_of::<PyUnicodeEncodeError>(py) => {
                    let bytes = s.call_method1("encode", ("utf-8", "surrogatepass"))?;
                    return Ok(NormText::Surrogates(
                        bytes.cast_into::<PyBytes>()?.as_bytes().to_vec(),
                    ));
                }
                Err(err) => return Err(err),
            }
        }
        // Not a str: the same TypeError as every other text argument.
        extract_text(obj, index).map(NormText::Utf8)
    }
}

/// `s` itself when the normalized text `out` is its UTF-8 `input` unchanged, else a new str.
fn same_or_new<'py>(s: &Bound<'py, PyString>, input: &str, out: &str) -> Bound<'py, PyString> {
    if out.len() == input.len() && out.as_ptr() == input.as_ptr() {
        s.clone()
    } else {
        PyString::new(s.py(), out)
    }
}

thread_local! {
    /// Per thread: a str's code points and the normalizer's output, reused between calls.
    static CODE_POINTS: std::cell::RefCell<(Vec<u32>, Vec<u32>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// Code points kept in the per-thread buffers between calls (larger ones are freed).
const CODE_POINTS_KEEP: usize = 1 << 18;

impl PyNormalizer {
    /// `normalize(s)` on the str's code points (`PyUnicode_AsUCS4`, then
    /// `PyUnicode_FromWideChar`): no UTF-8 encoding or decoding, lone surrogates kept where
    /// they are. None when this path does not apply (a 16-bit `wchar_t`, a text long enough to
    /// release the GIL for, a normalizer without a one-scan plan).
    fn normalize_code_points<'py>(
        &self,
        s: &Bound<'py, PyString>,
    ) -> PyResult<Option<Bound<'py, PyString>>> {
        if wchar_size(ffi::PyUnicode_FromWideChar) != 4 {
            return Ok(None);
        }
        let py = s.py();
        // SAFETY: `s` is a live str (the GIL is held through the Bound).
        let len = unsafe { ffi::PyUnicode_GetLength(s.as_ptr()) };
        let Ok(n) = usize::try_from(len) else {
            return Err(PyErr::fetch(py));
        };
        if n * 3 >= DETACH_BYTES {
            return Ok(None);
        }
        CODE_POINTS.with(|cell| {
            let Ok(mut bufs) = cell.try_borrow_mut() else {
                return Ok(None);
            };
            let (input, out) = &mut *bufs;
            input.clear();
            input.resize(n, 0);
            // SAFETY: `input` holds `n` code points, the str's length; no NUL is appended
            // (copy_null 0), so the buffer is exactly large enough.
            let p = unsafe { ffi::PyUnicode_AsUCS4(s.as_ptr(), input.as_mut_ptr(), len, 0) };
            if p.is_null() {
                return Err(PyErr::fetch(py));
            }
            let mut range = 0..n;
            let normalized = guarded(py, || self.inner.normalize_ucs4(input, out, &mut range))?;
            let made = match normalized {
                None => return Ok(None),
                Some(false) if range == (0..n) => s.clone(),
                Some(false) => from_code_points(py, &input[range])?,
                Some(true) => from_code_points(py, out)?,
            };
            if input.capacity() > CODE_POINTS_KEEP || out.capacity() > CODE_POINTS_KEEP {
                *input = Vec::new();
                *out = Vec::new();
            }
            Ok(Some(made))
        })
    }
}

/// The size of C's `wchar_t` (the element type of `PyUnicode_FromWideChar`'s buffer).
fn wchar_size<T>(
    _: unsafe extern "C" fn(*const T, ffi::Py_ssize_t) -> *mut ffi::PyObject,
) -> usize {
    std::mem::size_of::<T>()
}

/// Code points per chunk of a code-point batch: the chunk's strs are copied into one reused
/// buffer, normalized in parallel, made into strs, then the next chunk (so a batch's working
/// set stays in cache instead of one buffer the size of the whole batch).
const CP_CHUNK_BUDGET: usize = 1 << 18;

/// Texts per chunk of a code-point batch at most (many short texts).
const CP_CHUNK_TEXTS: usize = 4096;

impl PyNormalizer {
    /// `normalize_batch` on the strs' code points (see `normalize_code_points`), chunk by
    /// chunk (`CP_CHUNK_BUDGET`): a chunk's strs copied into one reused buffer with the GIL
    /// held, normalized in parallel without it, made into strs with it. None when this path
    /// does not apply (a 16-bit `wchar_t`, no one-scan plan).
    fn normalize_batch_code_points<'py>(
        &self,
        py: Python<'py>,
        items: &[Bound<'py, PyString>],
    ) -> PyResult<Option<Vec<Bound<'py, PyString>>>> {
        if wchar_size(ffi::PyUnicode_FromWideChar) != 4
            || self.inner.normalize_ucs4_batch(&[], &[0]).is_none()
        {
            return Ok(None);
        }
        let mut lens = Vec::with_capacity(items.len());
        for s in items {
            // SAFETY: `s` is a live str (the GIL is held through the Bound).
            let len = unsafe { ffi::PyUnicode_GetLength(s.as_ptr()) };
            lens.push(usize::try_from(len).map_err(|_| PyErr::fetch(py))?);
        }
        let mut result = Vec::with_capacity(items.len());
        let mut flat: Vec<u32> = Vec::new();
        let mut offsets: Vec<usize> = Vec::new();
        let mut first = 0;
        while first < items.len() {
            py.check_signals()?;
            offsets.clear();
            offsets.push(0);
            let mut last = first;
            let mut total = 0usize;
            while last < items.len() && last - first < CP_CHUNK_TEXTS {
                if last > first && total + lens[last] > CP_CHUNK_BUDGET {
                    break;
                }
                total += lens[last];
                offsets.push(total);
                last += 1;
            }
            let chunk = &items[first..last];
            flat.clear();
            flat.resize(total, 0);
            for (i, s) in chunk.iter().enumerate() {
                let (start, end) = (offsets[i], offsets[i + 1]);
                if start == end {
                    continue;
                }
                let len = ffi::Py_ssize_t::try_from(end - start)
                    .map_err(|_| PyValueError::new_err("text too long"))?;
                // SAFETY: `flat[start..end]` holds exactly the str's length in code points;
                // no NUL is appended (copy_null 0).
                let p = unsafe {
                    ffi::PyUnicode_AsUCS4(s.as_ptr(), flat[start..].as_mut_ptr(), len, 0)
                };
                if p.is_null() {
                    return Err(PyErr::fetch(py));
                }
            }
            let norm = Arc::clone(&self.inner);
            let (flat_ref, offsets_ref) = (&flat, &offsets);
            // A chunk is short: no worker thread (Ctrl-C is checked between chunks).
            let batch = detach_short(py, move || {
                Ok(norm.normalize_ucs4_batch(flat_ref, offsets_ref))
            })?;
            let Some(batch) = batch else {
                return Ok(None);
            };
            for (i, (s, (kind, cps))) in chunk.iter().zip(batch.iter()).enumerate() {
                result.push(match kind {
                    Ucs4Out::Same => s.clone(),
                    Ucs4Out::Part(a, b) => {
                        from_code_points(py, &flat[offsets[i] + a..offsets[i] + b])?
                    }
                    Ucs4Out::New(..) => from_code_points(py, cps)?,
                    Ucs4Out::Other => self.normalize(py, s.as_any())?,
                });
            }
            first = last;
        }
        Ok(Some(result))
    }
}

/// A str from code points (lone surrogates included), for a 32-bit `wchar_t`.
fn from_code_points<'py>(py: Python<'py>, cps: &[u32]) -> PyResult<Bound<'py, PyString>> {
    let len =
        ffi::Py_ssize_t::try_from(cps.len()).map_err(|_| PyValueError::new_err("text too long"))?;
    // SAFETY: `cps` is `len` initialized 32-bit values and the caller checked that `wchar_t`
    // is 32 bits wide (same size and alignment as u32); every value is a code point below
    // U+110000 (the input's, or the normalizer's `char`s).
    let obj = unsafe { ffi::PyUnicode_FromWideChar(cps.as_ptr().cast(), len) };
    // SAFETY: a new reference or NULL with an exception set.
    unsafe { Bound::from_owned_ptr_or_err(py, obj) }?
        .cast_into::<PyString>()
        .map_err(Into::into)
}

/// A `str` from surrogate-passing UTF-8 (`bytes.decode("utf-8", "surrogatepass")`).
fn surrogate_str<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyString>> {
    PyBytes::new(py, bytes)
        .call_method1("decode", ("utf-8", "surrogatepass"))?
        .cast_into::<PyString>()
        .map_err(Into::into)
}

/// Cleans text with an ordered list of steps, or one of the CCNet presets.
///
/// The keyword options apply in this order: `unicode`, `urls`, `emails`, `lowercase`,
/// `strip_accents`, `digits`, `punct`, `remove_control`, `collapse_whitespace`, `strip`.
///
/// Args:
///     unicode: None, "NFC", "NFKC", "NFD" or "NFKD".
///     urls: replace URLs with this string (None keeps them).
///     emails: replace e-mail addresses with this string (None keeps them).
///     lowercase: Unicode lowercasing, as Python's str.lower().
///     strip_accents: NFD, then drop non-spacing marks (as CCNet).
///     digits: None, "each" (every decimal digit to 0) or "run" (every run of digits to 0).
///     punct: None, "ccnet-map" (CCNet's table to ASCII), "ccnet-remove" (delete the
///         table's characters) or "remove-all" (delete all punctuation).
///     remove_control: delete U+0000..U+001F and U+007F..U+009F (as CCNet).
///     collapse_whitespace: each run of whitespace becomes one space.
///     strip: remove leading and trailing whitespace (Python's str.strip()).
///
/// The Unicode data (case, normalization, digits, marks) is that of Rust's standard library
/// and the unicode crates (Unicode 17 to 18), newer than a Python's `unicodedata` (3.11:
/// 14.0): characters assigned or re-categorised after the running Python's version can differ
/// from what `str.lower()`, `unicodedata.normalize` or CCNet give (U+1171E, a spacing mark
/// since Unicode 16, is kept by strip_accents); every other character is the same.
///
/// Example:
///     >>> kneser.Normalizer(lowercase=True, digits="run", strip=True).normalize(" Tel 0123 ")
///     'tel 0'
///     >>> kneser.Normalizer.ccnet().normalize("Café «2024»")
///     'cafe "0000"'
#[pyclass(name = "Normalizer", module = "kneser", frozen)]
pub struct PyNormalizer {
    inner: Arc<Normalizer>,
}

impl PyNormalizer {
    /// The shared core normalizer, for other bindings to use without the GIL.
    #[allow(dead_code)]
    pub fn inner(&self) -> Arc<Normalizer> {
        Arc::clone(&self.inner)
    }
}

fn parse_form(name: &str) -> PyResult<UnicodeForm> {
    Ok(match name.to_ascii_uppercase().as_str() {
        "NFC" => UnicodeForm::Nfc,
        "NFKC" => UnicodeForm::Nfkc,
        "NFD" => UnicodeForm::Nfd,
        "NFKD" => UnicodeForm::Nfkd,
        _ => {
            return Err(PyValueError::new_err(format!(
                "unknown unicode form {name:?}; expected \"NFC\", \"NFKC\", \"NFD\" or \"NFKD\""
            )))
        }
    })
}

#[pymethods]
impl PyNormalizer {
    #[new]
    #[pyo3(signature = (*, unicode = None, urls = None, emails = None, lowercase = false,
        strip_accents = false, digits = None, punct = None, remove_control = false,
        collapse_whitespace = false, strip = false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        unicode: Option<&str>,
        urls: Option<String>,
        emails: Option<String>,
        lowercase: bool,
        strip_accents: bool,
        digits: Option<&str>,
        punct: Option<&str>,
        remove_control: bool,
        collapse_whitespace: bool,
        strip: bool,
    ) -> PyResult<Self> {
        let mut steps = Vec::new();
        if let Some(form) = unicode {
            steps.push(NormalizeStep::Unicode(parse_form(form)?));
        }
        if let Some(with) = urls {
            steps.push(NormalizeStep::ReplaceUrls(with));
        }
        if let Some(with) = emails {
            steps.push(NormalizeStep::ReplaceEmails(with));
        }
        if lowercase {
            steps.push(NormalizeStep::Lowercase);
        }
        if strip_accents {
            steps.push(NormalizeStep::StripAccents);
        }
        match digits {
            None => {}
            Some("each") => steps.push(NormalizeStep::Digits(DigitMode::Each)),
            Some("run") => steps.push(NormalizeStep::Digits(DigitMode::Run)),
            Some(other) => {
                return Err(PyValueError::new_err(format!(
                    "unknown digits mode {other:?}; expected \"each\", \"run\" or None"
                )))
            }
        }
        match punct {
            None => {}
            Some("ccnet-map") => steps.push(NormalizeStep::Punct(PunctMode::CcnetMap)),
            Some("ccnet-remove") => steps.push(NormalizeStep::Punct(PunctMode::CcnetRemove)),
            Some("remove-all") => steps.push(NormalizeStep::Punct(PunctMode::RemoveAll)),
            Some(other) => {
                return Err(PyValueError::new_err(format!(
                    "unknown punct mode {other:?}; expected \"ccnet-map\", \"ccnet-remove\", \
                     \"remove-all\" or None"
                )))
            }
        }
        if remove_control {
            steps.push(NormalizeStep::RemoveControl);
        }
        if collapse_whitespace {
            steps.push(NormalizeStep::CollapseWhitespace);
        }
        if strip {
            steps.push(NormalizeStep::Strip);
        }
        Ok(PyNormalizer {
            inner: Arc::new(Normalizer::from_steps(steps)),
        })
    }

    /// CCNet's `text_normalizer.normalize(line, accent, case, numbers, punct)`.
    ///
    /// Args:
    ///     punct: 0 leaves punctuation, 1 maps CCNet's table to ASCII, 2 removes its characters.
    ///     accent: strip accents (NFD, then drop non-spacing marks).
    ///     case: lowercase.
    ///     numbers: replace every decimal digit with 0.
    ///
    /// Example:
    ///     >>> kneser.Normalizer.ccnet(punct=2).normalize("«Ça va ?»")
    ///     'ca va ?'
    #[staticmethod]
    #[pyo3(signature = (punct = 1, accent = true, case = true, numbers = true))]
    fn ccnet(punct: u8, accent: bool, case: bool, numbers: bool) -> PyResult<Self> {
        if punct > 2 {
            return Err(PyValueError::new_err(format!(
                "punct must be 0, 1 or 2, got {punct}"
            )));
        }
        Ok(PyNormalizer {
            inner: Arc::new(Normalizer::ccnet(CcnetOptions {
                accent,
                case,
                numbers,
                punct,
            })),
        })
    }

    /// CCNet's `text_normalizer.normalize_for_dedup(line)`: strip, lowercase, digits to 0,
    /// CCNet's punctuation table and control characters removed.
    ///
    /// Example:
    ///     >>> kneser.Normalizer.ccnet_dedup().normalize(" Ünï， 42 ")
    ///     'ünï 00'
    #[staticmethod]
    fn ccnet_dedup() -> Self {
        PyNormalizer {
            inner: Arc::new(Normalizer::ccnet_dedup()),
        }
    }

    /// The normalized `text`.
    ///
    /// Args:
    ///     text: a str. Lone surrogates (from `errors="surrogateescape"` decoding, or JSON
    ///         escapes) are kept where they are, as Python's own string functions keep them.
    fn normalize<'py>(
        &self,
        py: Python<'py>,
        text: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyString>> {
        // The common case: a str read as code points (or in place as UTF-8), normalized
        // without releasing the GIL, the input object itself returned when nothing changes.
        if let Ok(s) = text.cast::<PyString>() {
            if let Some(out) = self.normalize_code_points(s)? {
                return Ok(out);
            }
            if let Some(utf8) = utf8_of(s) {
                if utf8.len() < DETACH_BYTES {
                    return guarded(py, || {
                        self.inner
                            .with_normalized(utf8, |out| same_or_new(s, utf8, out))
                    });
                }
            }
        }
        match NormText::extract(text, None)? {
            NormText::Utf8(text) => {
                let norm = Arc::clone(&self.inner);
                let out = detach_short(py, move || Ok(norm.normalize(&text)))?;
                Ok(PyString::new(py, &out))
            }
            NormText::Surrogates(bytes) => {
                let norm = Arc::clone(&self.inner);
                let out =
                    detach_short(py, move || norm.normalize_surrogate_utf8(&bytes, "<text>"))?;
                surrogate_str(py, &out)
            }
        }
    }

    /// The normalized texts, in input order; computed in parallel with the GIL released.
    /// Lone surrogates are kept, as in `normalize`.
    ///
    /// Args:
    ///     texts: an iterable of str.
    fn normalize_batch<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
    ) -> PyResult<Vec<Bound<'py, PyString>>> {
        if texts.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err(
                "expected an iterable of str, got a single str (wrap it in a list)",
            ));
        }
        let mut items: Vec<Bound<'py, PyString>> = Vec::with_capacity(texts.len().unwrap_or(0));
        for (i, item) in texts.try_iter()?.enumerate() {
            let item = item?;
            match item.cast::<PyString>() {
                Ok(s) => items.push(s.clone()),
                // Not a str: extract_text's TypeError.
                Err(_) => {
                    extract_text(&item, Some(i))?;
                }
            }
        }
        if let Some(result) = self.normalize_batch_code_points(py, &items)? {
            return Ok(result);
        }
        // Each str's UTF-8 read in place; the few holding lone surrogates go aside as
        // (index, surrogate-passing UTF-8).
        let mut plain: Vec<&str> = Vec::with_capacity(items.len());
        let mut odd: Vec<(usize, Vec<u8>)> = Vec::new();
        for (i, s) in items.iter().enumerate() {
            match utf8_of(s) {
                Some(t) => plain.push(t),
                None => match NormText::extract(s.as_any(), Some(i))? {
                    NormText::Utf8(_) => plain.push(""),
                    NormText::Surrogates(b) => {
                        plain.push("");
                        odd.push((i, b));
                    }
                },
            }
        }
        let norm = Arc::clone(&self.inner);
        let plain_ref = &plain;
        let (flats, odd_out) = run_detached(py, move |cancel| {
            let mut flats = Vec::with_capacity(plain_ref.len() / CHUNK + 1);
            for chunk in plain_ref.chunks(CHUNK) {
                cancel.check()?;
                flats.push(norm.normalize_batch_flat(chunk));
            }
            let odd_out = odd
                .into_iter()
                .map(|(i, b)| {
                    Ok((
                        i,
                        norm.normalize_surrogate_utf8(&b, &format!("<text {i}>"))?,
                    ))
                })
                .collect::<kneser::Result<Vec<_>>>()?;
            Ok((flats, odd_out))
        })?;
        let mut result: Vec<Bound<'py, PyString>> = Vec::with_capacity(items.len());
        for (s, out) in items.iter().zip(flats.iter().flat_map(|f| f.iter())) {
            result.push(match out {
                None => s.clone(),
                Some(o) => PyString::new(py, o),
            });
        }
        for (i, bytes) in odd_out {
            result[i] = surrogate_str(py, &bytes)?;
        }
        Ok(result)
    }

    /// The steps, in the order they are applied, as readable strings.
    #[getter]
    fn steps(&self) -> Vec<String> {
        self.inner
            .steps()
            .iter()
            .map(|s| format!("{s:?}"))
            .collect()
    }

    fn __repr__(&self) -> String {
        format!("Normalizer(steps={:?})", self.steps())
    }
}

/// The tokens of one text in one buffer (one allocation, not one per token), made without
/// the GIL and turned into a list of str with it.
/// A core [`FlatTokens`] as a Python list of str.
fn flat_to_list<'py>(py: Python<'py>, flat: &FlatTokens) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, flat.iter().map(|t| PyString::new(py, t)))
}

/// Splits text into tokens.
///
/// Args:
///     mode: "whitespace" (lmplz's rule: space, tab, CR, LF and NUL separate tokens),
///         "unicode-words" (UAX #29 words), "cjk-chars" (each Han, kana or hangul character
///         a token; other letter and digit runs whole; punctuation separate) or
///         "punctuation" (whitespace splitting, each punctuation character a token),
///         or a kneser.Segmenter (its words, HMM off, whitespace words dropped; the
///         tokenizer keeps the dictionary as it is now, later add_word calls do not change it).
///     lowercase: lowercase each token.
///     stopwords: None, "en" or "zh" (our built-in lists), a path to a file with one word
///         per line, or an iterable of str. Matched exactly after lowercasing.
///
/// Example:
///     >>> kneser.Tokenizer("whitespace").tokenize("a  b")
///     ['a', 'b']
///     >>> kneser.Tokenizer("unicode-words", lowercase=True, stopwords="en").tokenize("The cat.")
///     ['cat']
#[pyclass(name = "Tokenizer", module = "kneser", frozen, subclass)]
pub struct PyTokenizer {
    inner: Arc<Tokenizer>,
}

impl PyTokenizer {
    /// Wraps a core tokenizer built elsewhere (e.g. `Segmenter.tokenizer`).
    pub(crate) fn from_core(tok: Tokenizer) -> Self {
        PyTokenizer {
            inner: Arc::new(tok),
        }
    }

    /// The shared core tokenizer, for other bindings (vocab, pipeline) to use without the GIL.
    #[allow(dead_code)]
    pub fn inner(&self) -> Arc<Tokenizer> {
        Arc::clone(&self.inner)
    }
}

/// Reads the `stopwords` argument of `Tokenizer`.
pub(crate) fn stopwords_arg(py: Python<'_>, arg: &Bound<'_, PyAny>) -> PyResult<Option<Stopwords>> {
    if arg.is_none() {
        return Ok(None);
    }
    if let Ok(name) = arg.cast::<PyString>() {
        let name = name.to_cow()?.into_owned();
        if let Some(builtin) = Stopwords::builtin(&name) {
            return Ok(Some(builtin));
        }
        return detach_short(py, move || Stopwords::from_file(&name)).map(Some);
    }
    let fspath = py.import("os")?.getattr("fspath")?;
    if arg.hasattr("__fspath__")? {
        let path: std::path::PathBuf = fspath.call1((arg,))?.extract()?;
        return detach_short(py, move || Stopwords::from_file(&path)).map(Some);
    }
    let words = extract_texts(arg).map_err(|e| {
        if e.is_instance_of::<PyTypeError>(py) {
            PyTypeError::new_err(format!(
                "stopwords must be None, \"en\", \"zh\", a path or an iterable of str ({e})"
            ))
        } else {
            e
        }
    })?;
    Ok(Some(Stopwords::from_words(words)))
}

#[pymethods]
impl PyTokenizer {
    #[new]
    #[pyo3(signature = (mode = None, lowercase = false, stopwords = None))]
    fn new(
        py: Python<'_>,
        mode: Option<&Bound<'_, PyAny>>,
        lowercase: bool,
        stopwords: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mode = match mode {
            None => TokenizerMode::Whitespace,
            Some(m) => {
                if let Ok(seg) = m.cast::<PySegmenter>() {
                    let seg = seg.get().inner()?;
                    TokenizerMode::Custom {
                        name: "segmenter".into(),
                        split: Arc::new(move |text: &str, f: &mut dyn FnMut(&str)| {
                            seg.for_each_word(text, &mut |w: &str| {
                                if !w.chars().all(is_python_space) {
                                    f(w)
                                }
                            })
                        }),
                    }
                } else {
                    let name = m.cast::<PyString>().map_err(|_| {
                        PyTypeError::new_err("mode must be a mode name (str) or a kneser.Segmenter")
                    })?;
                    let name = name.to_cow()?;
                    TokenizerMode::from_name(&name).ok_or_else(|| {
                        PyValueError::new_err(format!(
                            "unknown tokenizer mode {name:?}; expected \"whitespace\", \
                             \"unicode-words\", \"cjk-chars\", \"punctuation\" or a \
                             kneser.Segmenter"
                        ))
                    })?
                }
            }
        };
        let stopwords = match stopwords {
            Some(arg) => stopwords_arg(py, arg)?,
            None => None,
        };
        Ok(PyTokenizer {
            inner: Arc::new(
                Tokenizer::new(mode)
                    .with_lowercase(lowercase)
                    .with_stopwords(stopwords),
            ),
        })
    }

    /// The tokens of `text` as a list of str.
    ///
    /// Args:
    ///     text: a str (a lone surrogate in it raises kneser.FormatError).
    fn tokenize<'py>(
        &self,
        py: Python<'py>,
        text: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let text = extract_text(text, None)?;
        let flat = if text.len() < DETACH_BYTES {
            guarded(py, || self.inner.flat_tokens(&text))?
        } else {
            let tok = Arc::clone(&self.inner);
            detach_short(py, move || Ok(tok.flat_tokens(&text)))?
        };
        flat_to_list(py, &flat)
    }

    /// The tokens of each text, in input order; computed in parallel with the GIL released.
    ///
    /// Args:
    ///     texts: an iterable of str.
    fn tokenize_batch<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let texts = extract_texts(texts)?;
        let tok = Arc::clone(&self.inner);
        let flats = run_detached(py, move |cancel| {
            let mut out = Vec::with_capacity(texts.len());
            for chunk in texts.chunks(CHUNK) {
                cancel.check()?;
                out.extend(tok.flat_tokens_batch(chunk));
            }
            Ok(out)
        })?;
        let lists = flats
            .iter()
            .map(|f| flat_to_list(py, f))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, lists)
    }

    /// The splitting mode's name.
    #[getter]
    fn mode(&self) -> String {
        self.inner.mode().name().to_string()
    }

    /// Whether tokens are lowercased.
    #[getter]
    fn lowercase(&self) -> bool {
        self.inner.lowercases()
    }

    fn __repr__(&self) -> String {
        let sw = self
            .inner
            .stopwords()
            .map(|s| format!("<{} words>", s.len()))
            .unwrap_or_else(|| "None".into());
        format!(
            "Tokenizer(mode={:?}, lowercase={}, stopwords={sw})",
            self.inner.mode().name(),
            if self.inner.lowercases() {
                "True"
            } else {
                "False"
            }
        )
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyNormalizer>()?;
    m.add_class::<PyTokenizer>()?;
    crate::segment::register_segmenter(m)?;
    Ok(())
}
