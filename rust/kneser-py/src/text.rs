//! Bindings of the text stage: `Tokenizer` (and, as they land, `Normalizer`, `Segmenter`).

use std::sync::Arc;

use kneser::text::tokenize::Tokenizer;
use pyo3::prelude::*;

/// Splits text into tokens.
///
/// Args:
///     mode: "whitespace" (lmplz's rule: space, tab, CR, LF and NUL separate tokens).
///
/// Example:
///     >>> kneser.Tokenizer("whitespace").tokenize("a  b")
///     ['a', 'b']
#[pyclass(name = "Tokenizer", module = "kneser", frozen)]
pub struct PyTokenizer {
    inner: Arc<Tokenizer>,
}

impl PyTokenizer {
    /// The shared core tokenizer, for other bindings (vocab, pipeline) to use without the GIL.
    #[allow(dead_code)]
    pub fn inner(&self) -> Arc<Tokenizer> {
        Arc::clone(&self.inner)
    }
}

#[pymethods]
impl PyTokenizer {
    #[new]
    #[pyo3(signature = (mode = "whitespace"))]
    fn new(mode: &str) -> PyResult<Self> {
        match mode {
            "whitespace" => Ok(PyTokenizer {
                inner: Arc::new(Tokenizer::whitespace()),
            }),
            other => Err(pyo3::exceptions::PyValueError::new_err(format!(
                "unknown tokenizer mode {other:?}; expected \"whitespace\""
            ))),
        }
    }

    /// The tokens of `text` as a list of str.
    fn tokenize(&self, text: &str) -> Vec<String> {
        self.inner.tokenize(text)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyTokenizer>()?;
    Ok(())
}
