//! Corpus sources of `Vocab.build`, `estimate`, `count` and `encode_corpus`: one conversion for
//! all four, so that text is never read as a path nor a path as text.
//!
//! The rule (huggingface tokenizers' `train(files)` / `train_from_iterator(iterator)` split,
//! by keyword):
//!
//! - `files=`: a path (str or os.PathLike) or an iterable of paths; `"-"` is stdin.
//! - `texts=`: an iterable of str, one line (a sentence, a document) per item, pulled in
//!   batches. A single str is refused (it would be read character by character).
//! - the positional `source`: one path (str or os.PathLike), or a table (below), nothing else.
//!   Lists, tuples, generators and bytes are refused with a TypeError that says to use
//!   `files=` or `texts=`, since any of them could hold either.
//! - a table: a `pyarrow.Table`, a huggingface `datasets.Dataset` or `datasets.IterableDataset`,
//!   positional or as `texts=` (never `files=`): the texts of its column `"text"` (or of its
//!   only column), read one record batch at a time by `kneser._arrow.table_texts`; a null is
//!   skipped. A table cannot be mistaken for a path or a list of lines, so it is unambiguous.
//!
//! Exactly one of the three is given (`estimate` also takes none, with `from_counts`).

use std::path::PathBuf;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString};

use crate::errors::to_pyerr;

/// A corpus as the caller named it.
pub enum Corpus<'py> {
    /// Files to read, in order.
    Files(Vec<PathBuf>),
    /// An iterable of str, one line per item, not yet pulled.
    Texts(Bound<'py, PyAny>),
}

/// The name of `obj`'s type for messages (`?` when it has none).
pub(crate) fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

fn is_bytes(obj: &Bound<'_, PyAny>) -> bool {
    obj.is_instance_of::<PyBytes>() || obj.is_instance_of::<PyByteArray>()
}

/// One path: a str or an os.PathLike whose `__fspath__` gives a str; None for anything else.
fn path_of(obj: &Bound<'_, PyAny>) -> PyResult<Option<PathBuf>> {
    if obj.is_instance_of::<PyString>() {
        return Ok(Some(obj.extract::<String>()?.into()));
    }
    if !is_bytes(obj) && obj.hasattr("__fspath__")? {
        let p = obj.call_method0("__fspath__")?;
        if p.is_instance_of::<PyString>() {
            return Ok(Some(p.extract::<String>()?.into()));
        }
    }
    Ok(None)
}

/// A `pyarrow.Table`, `datasets.Dataset` or `datasets.IterableDataset`, recognised by its
/// type's module and name (neither package is imported here).
fn is_table(obj: &Bound<'_, PyAny>) -> bool {
    let ty = obj.get_type();
    let module = ty.module().map(|m| m.to_string()).unwrap_or_default();
    let name = type_name(obj);
    let root = module.split('.').next().unwrap_or("");
    (root == "pyarrow" && name == "Table")
        || (root == "datasets" && (name == "Dataset" || name == "IterableDataset"))
}

/// The iterable of str of a table (see the module doc).
fn table_texts<'py>(api: &str, table: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    table
        .py()
        .import("kneser._arrow")?
        .call_method1("table_texts", (table, api))
}

fn files_arg(api: &str, files: &Bound<'_, PyAny>) -> PyResult<Vec<PathBuf>> {
    if let Some(p) = path_of(files)? {
        return Ok(vec![p]);
    }
    if is_table(files) {
        return Err(PyTypeError::new_err(format!(
            "{api}: files= takes paths, got a {}: pass the table positionally or as texts=",
            type_name(files)
        )));
    }
    if is_bytes(files) {
        return Err(PyTypeError::new_err(format!(
            "{api}: files= got {}; give the path as str (os.fsdecode(path)), or the text as \
             texts=[...]",
            type_name(files)
        )));
    }
    let iter = files.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "{api}: files= takes a path or an iterable of paths (str or os.PathLike), got {}",
            type_name(files)
        ))
    })?;
    let mut paths = Vec::new();
    for (i, item) in iter.enumerate() {
        let item = item?;
        match path_of(&item)? {
            Some(p) => paths.push(p),
            None => {
                return Err(PyTypeError::new_err(format!(
                    "{api}: files= item {i} is {}, not a path (str or os.PathLike){}",
                    type_name(&item),
                    if is_bytes(&item) {
                        "; decode it with os.fsdecode"
                    } else {
                        ""
                    }
                )))
            }
        }
    }
    if paths.is_empty() {
        return Err(to_pyerr(
            files.py(),
            kneser::Error::InvalidArgument(format!("{api}: files= holds no path")),
        ));
    }
    Ok(paths)
}

fn texts_arg<'py>(api: &str, texts: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    if texts.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!(
            "{api}: texts= takes an iterable of str, got a single str (it would be read \
             character by character): wrap it in a list, texts=[text], or pass a path as files="
        )));
    }
    if is_bytes(texts) {
        return Err(PyTypeError::new_err(format!(
            "{api}: texts= takes an iterable of str, got {}: decode it first, \
             texts=[data.decode(\"utf-8\")]",
            type_name(texts)
        )));
    }
    if is_table(texts) {
        return table_texts(api, texts);
    }
    if texts.hasattr("__fspath__")? {
        return Err(PyTypeError::new_err(format!(
            "{api}: texts= got a path ({}); pass paths as files=",
            type_name(texts)
        )));
    }
    texts.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "{api}: texts= takes an iterable of str, got {}",
            type_name(texts)
        ))
    })?;
    Ok(texts.clone())
}

fn positional(api: &str, source: &Bound<'_, PyAny>) -> PyResult<Vec<PathBuf>> {
    if let Some(p) = path_of(source)? {
        return Ok(vec![p]);
    }
    let what = type_name(source);
    let hint = if is_bytes(source) {
        "bytes could be a path or text".to_string()
    } else if source.try_iter().is_ok() {
        format!("a {what} could hold paths or lines of text")
    } else {
        format!("got {what}")
    };
    Err(PyTypeError::new_err(format!(
        "{api}: the positional source is one path (str or os.PathLike) or a table \
         (pyarrow.Table, datasets.Dataset); {hint}: pass files=[...] for paths or texts=... \
         for an iterable of str lines"
    )))
}

/// The corpus of `api` from its `source`, `files=` and `texts=` arguments (None when none was
/// given); see the module doc for the rule. Errors: TypeError naming the argument to use, or
/// ArgumentError for an empty `files=`.
pub fn corpus<'py>(
    api: &str,
    source: Option<&Bound<'py, PyAny>>,
    files: Option<&Bound<'py, PyAny>>,
    texts: Option<&Bound<'py, PyAny>>,
) -> PyResult<Option<Corpus<'py>>> {
    let source = source.filter(|s| !s.is_none());
    let files = files.filter(|s| !s.is_none());
    let texts = texts.filter(|s| !s.is_none());
    let given = [source.is_some(), files.is_some(), texts.is_some()];
    if given.iter().filter(|&&g| g).count() > 1 {
        return Err(PyTypeError::new_err(format!(
            "{api}: give the corpus once: a positional path, files= or texts=, not several"
        )));
    }
    Ok(match (source, files, texts) {
        (Some(s), _, _) if is_table(s) => Some(Corpus::Texts(table_texts(api, s)?)),
        (Some(s), _, _) => Some(Corpus::Files(positional(api, s)?)),
        (_, Some(f), _) => Some(Corpus::Files(files_arg(api, f)?)),
        (_, _, Some(t)) => Some(Corpus::Texts(texts_arg(api, t)?)),
        _ => None,
    })
}

/// [`corpus`] for the APIs that need one.
pub fn required_corpus<'py>(
    api: &str,
    source: Option<&Bound<'py, PyAny>>,
    files: Option<&Bound<'py, PyAny>>,
    texts: Option<&Bound<'py, PyAny>>,
) -> PyResult<Corpus<'py>> {
    corpus(api, source, files, texts)?.ok_or_else(|| {
        PyTypeError::new_err(format!(
            "{api}: no corpus given: pass a path, files=[...] or texts=..."
        ))
    })
}

/// The error for an item of `texts=` that is not a str.
pub fn not_a_text(item: &Bound<'_, PyAny>, index: usize) -> PyErr {
    PyTypeError::new_err(format!(
        "texts= item {index} is {}, not str{}",
        type_name(item),
        if is_bytes(item) {
            " (decode it first)"
        } else {
            ""
        }
    ))
}

/// The corpus rule for Python wrappers (`kneser.encode_corpus` with a huggingface tokenizer):
/// `("files", [paths as str])` or `("texts", iterable)`, with the same TypeErrors as the
/// native APIs.
#[pyfunction]
#[pyo3(signature = (api, source = None, files = None, texts = None))]
pub fn resolve_corpus<'py>(
    py: Python<'py>,
    api: &str,
    source: Option<&Bound<'py, PyAny>>,
    files: Option<&Bound<'py, PyAny>>,
    texts: Option<&Bound<'py, PyAny>>,
) -> PyResult<(String, Bound<'py, PyAny>)> {
    Ok(match required_corpus(api, source, files, texts)? {
        Corpus::Files(paths) => {
            let names: Vec<String> = paths
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            (
                "files".into(),
                pyo3::types::PyList::new(py, names)?.into_any(),
            )
        }
        Corpus::Texts(t) => ("texts".into(), t),
    })
}
