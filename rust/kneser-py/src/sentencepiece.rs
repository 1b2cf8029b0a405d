//! Binding of the pure-Rust SentencePiece encoder: `kneser.SentencePiece`, a `kneser.Tokenizer`
//! whose tokens are a model's pieces (so it is accepted wherever a tokenizer is).

use std::path::PathBuf;
use std::sync::Arc;

use kneser::{SentencePiece, SentencePieceType, Tokenizer, TokenizerMode};
use pyo3::prelude::*;

use crate::detach::{detach_short, guarded};
use crate::text::{extract_text, PyTokenizer};

/// A SentencePiece model (`.model` file), encoding text into the pieces
/// `sentencepiece.SentencePieceProcessor.encode_as_pieces` gives. It is a `kneser.Tokenizer`:
/// pass it wherever a tokenizer is taken (Vocab, Pipeline, train_lm); `tokenize_batch`
/// encodes many texts in parallel with the GIL released.
///
/// Args:
///     path: the `.model` file (unigram, BPE, word or char; any normalization rule).
///
/// Example:
///     >>> sp = kneser.SentencePiece("en.sp.model")
///     >>> sp.encode_as_pieces("Hello world")
///     ['▁Hello', '▁world']
#[pyclass(name = "SentencePiece", module = "kneser", frozen, extends = PyTokenizer)]
pub struct PySentencePiece {
    sp: Arc<SentencePiece>,
}

#[pymethods]
impl PySentencePiece {
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<PyClassInitializer<Self>> {
        let sp = Arc::new(detach_short(py, move || SentencePiece::load(&path))?);
        let tok = Tokenizer::new(TokenizerMode::SentencePiece(Arc::clone(&sp)));
        Ok(PyClassInitializer::from(PyTokenizer::from_core(tok))
            .add_subclass(PySentencePiece { sp }))
    }

    /// The pieces of `text` (a str).
    fn encode_as_pieces(&self, py: Python<'_>, text: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
        let text = extract_text(text, None)?;
        guarded(py, || self.sp.encode_as_pieces(&text))
    }

    /// The piece ids of `text` (a str).
    fn encode_as_ids(&self, py: Python<'_>, text: &Bound<'_, PyAny>) -> PyResult<Vec<u32>> {
        let text = extract_text(text, None)?;
        guarded(py, || self.sp.encode_as_ids(&text))
    }

    /// SentencePiece's normalization of `text` (spaces as U+2581).
    fn normalize(&self, py: Python<'_>, text: &Bound<'_, PyAny>) -> PyResult<String> {
        let text = extract_text(text, None)?;
        guarded(py, || {
            let mut out = String::new();
            self.sp.normalize_into(&text, &mut out);
            out
        })
    }

    /// The id of `piece` (the unknown id when absent).
    fn piece_to_id(&self, piece: &str) -> u32 {
        self.sp.piece_to_id(piece)
    }

    /// The text of piece `id`.
    fn id_to_piece(&self, id: u32) -> PyResult<String> {
        self.sp
            .id_to_piece(id)
            .map(str::to_string)
            .ok_or_else(|| pyo3::exceptions::PyIndexError::new_err(format!("no piece {id}")))
    }

    /// "unigram", "bpe", "word" or "char".
    #[getter]
    fn model_type(&self) -> &'static str {
        match self.sp.model_type() {
            SentencePieceType::Unigram => "unigram",
            SentencePieceType::Bpe => "bpe",
            SentencePieceType::Word => "word",
            SentencePieceType::Char => "char",
        }
    }

    fn __len__(&self) -> usize {
        self.sp.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "SentencePiece(model_type={:?}, pieces={}, normalizer={:?})",
            self.model_type(),
            self.sp.len(),
            self.sp.normalizer_name()
        )
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySentencePiece>()?;
    Ok(())
}
