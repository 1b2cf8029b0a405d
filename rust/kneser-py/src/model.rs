//! Bindings of the scoring model: `Model` (the kenlm module's API, plus batch calls) and
//! `State`.

use std::path::PathBuf;
use std::sync::Arc;

use kneser::model::query::{query_input, write_summary, QueryOptions, QueryTotals};
use kneser::model::{Model, State};
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::detach::run_detached;

/// A context for word-by-word scoring (kenlm's `State`): the recent words and their backoffs.
///
/// Example:
///     >>> s, out = kneser.State(), kneser.State()
///     >>> lm.BeginSentenceWrite(s)
///     >>> lm.BaseScore(s, "the", out)
#[pyclass(name = "State", module = "kneser")]
#[derive(Clone, Default)]
pub struct PyState {
    inner: State,
}

#[pymethods]
impl PyState {
    #[new]
    fn new() -> Self {
        PyState::default()
    }

    /// The number of context words held.
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<PyState>() {
            Ok(o) => self.inner == o.borrow().inner,
            Err(_) => false,
        }
    }

    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.inner.hash(&mut h);
        h.finish()
    }

    fn __copy__(&self) -> Self {
        self.clone()
    }

    fn __deepcopy__(&self, _memo: &Bound<'_, PyAny>) -> Self {
        self.clone()
    }

    fn __repr__(&self) -> String {
        format!("State(words={:?})", self.inner.words())
    }
}

/// An n-gram language model for scoring, with KenLM's numbers.
///
/// Loads an ARPA file (KenLM's, SRILM's or kneser's; plain, .gz, .xz or .zst) or a kneser binary
/// model (recognised by its magic bytes; memory-mapped, loads in milliseconds).
///
/// Args:
///     path: the model file.
///
/// Example:
///     >>> lm = kneser.Model("lm.arpa.xz")
///     >>> lm.score("this is a sentence", bos=True, eos=True)
///     -12.3
#[pyclass(name = "Model", module = "kneser", frozen)]
pub struct PyModel {
    inner: Arc<Model>,
    path: String,
}

/// Pulls the str items of an iterable (a lone str is refused: it would score its characters).
fn texts_from(texts: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if texts.is_instance_of::<pyo3::types::PyString>() {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "expected an iterable of str, got a single str; wrap it in a list",
        ));
    }
    let mut out = Vec::new();
    for item in texts.try_iter()? {
        out.push(item?.extract::<String>()?);
    }
    Ok(out)
}

#[pymethods]
impl PyModel {
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let shown = path.display().to_string();
        let model = run_detached(py, move |cancel| Model::load(&path, cancel))?;
        Ok(PyModel {
            inner: Arc::new(model),
            path: shown,
        })
    }

    /// The path the model was loaded from.
    #[getter]
    fn path(&self) -> &str {
        &self.path
    }

    /// The n-gram order.
    #[getter]
    fn order(&self) -> usize {
        self.inner.order()
    }

    /// The number of words with an id, `<unk>` included.
    #[getter]
    fn vocab_size(&self) -> usize {
        self.inner.vocab_size()
    }

    /// Whether the model file is memory-mapped (a binary model).
    #[getter]
    fn is_binary(&self) -> bool {
        self.inner.is_mapped()
    }

    /// Whether the ARPA lacked `<unk>` (it was given log10 p = -100, as KenLM does).
    #[getter]
    fn unk_missing(&self) -> bool {
        self.inner.unk_missing()
    }

    /// Whether `word` is in the vocabulary (`<unk>` is not, as in kenlm).
    fn __contains__(&self, word: &str) -> bool {
        self.inner.contains(word)
    }

    /// The id of `word` (0 when unknown), as KenLM's `query` prints it.
    fn index(&self, word: &str) -> u32 {
        self.inner.index(word)
    }

    /// log10 probability of `text` (words split on ASCII whitespace, as kenlm).
    ///
    /// Args:
    ///     text: one sentence.
    ///     bos: start in the `<s>` context.
    ///     eos: score `</s>` at the end.
    ///
    /// Example:
    ///     >>> lm.score("a b c", bos=True, eos=True)
    #[pyo3(signature = (text, bos = true, eos = true))]
    fn score(&self, text: &str, bos: bool, eos: bool) -> f64 {
        f64::from(self.inner.score(text, bos, eos))
    }

    /// Each word's `(log10 p, n-gram length, is OOV)`, `</s>` last with `eos`.
    ///
    /// Args:
    ///     text: one sentence.
    ///     bos: start in the `<s>` context.
    ///     eos: score `</s>` at the end.
    ///
    /// Example:
    ///     >>> lm.full_scores("a b")
    ///     [(-1.2, 2, False), (-0.7, 3, False), (-0.3, 2, False)]
    #[pyo3(signature = (text, bos = true, eos = true))]
    fn full_scores(&self, text: &str, bos: bool, eos: bool) -> Vec<(f64, u8, bool)> {
        self.inner
            .full_scores(text, bos, eos)
            .into_iter()
            .map(|s| (f64::from(s.prob), s.ngram_length, s.oov))
            .collect()
    }

    /// `10 ** (-score(text) / (words + 1))`, kenlm's definition.
    ///
    /// Args:
    ///     text: one sentence.
    ///
    /// Example:
    ///     >>> lm.perplexity("a b c")
    fn perplexity(&self, text: &str) -> f64 {
        self.inner.perplexity(text)
    }

    /// Scores many sentences in parallel with the GIL released; a float64 array in input order.
    ///
    /// Args:
    ///     texts: an iterable of str.
    ///     bos: start each in the `<s>` context.
    ///     eos: score `</s>` at the end of each.
    ///
    /// Example:
    ///     >>> lm.score_batch(["a b", "c"])
    ///     array([-5.1, -3.2])
    #[pyo3(signature = (texts, bos = true, eos = true))]
    fn score_batch<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
        bos: bool,
        eos: bool,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let texts = texts_from(texts)?;
        let model = Arc::clone(&self.inner);
        let scores = run_detached(py, move |cancel| {
            let s = model.score_batch(&texts, bos, eos, cancel)?;
            Ok(s.into_iter().map(f64::from).collect::<Vec<f64>>())
        })?;
        Ok(PyArray1::from_vec(py, scores))
    }

    /// The perplexity of many sentences in parallel with the GIL released.
    ///
    /// Args:
    ///     texts: an iterable of str.
    ///
    /// Example:
    ///     >>> lm.perplexity_batch(["a b", "c"])
    ///     array([120.5, 800.1])
    fn perplexity_batch<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let texts = texts_from(texts)?;
        let model = Arc::clone(&self.inner);
        let ppl = run_detached(py, move |cancel| model.perplexity_batch(&texts, cancel))?;
        Ok(PyArray1::from_vec(py, ppl))
    }

    /// Writes the model in kneser's binary format (atomically: the file appears when complete).
    ///
    /// Args:
    ///     path: the output file.
    ///
    /// Example:
    ///     >>> lm.save_binary("lm.kbin"); kneser.Model("lm.kbin")
    fn save_binary(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let model = Arc::clone(&self.inner);
        run_detached(py, move |_| model.save_binary(&path))
    }

    /// Sets `state` to the start of a sentence (the `<s>` context).
    #[pyo3(name = "BeginSentenceWrite")]
    fn kenlm_begin_sentence_write(&self, mut state: PyRefMut<'_, PyState>) {
        state.inner = self.inner.begin_sentence_state();
    }

    /// Sets `state` to the empty context.
    #[pyo3(name = "NullContextWrite")]
    fn kenlm_null_context_write(&self, mut state: PyRefMut<'_, PyState>) {
        state.inner = self.inner.null_context_state();
    }

    /// log10 p of `word` after `in_state`; the state after the word goes to `out_state`.
    ///
    /// Args:
    ///     in_state: the context.
    ///     word: the word (str).
    ///     out_state: receives the next state (may be `in_state` itself).
    ///
    /// Example:
    ///     >>> lm.BaseScore(s, "the", out)
    #[pyo3(name = "BaseScore")]
    fn kenlm_base_score(
        &self,
        in_state: &Bound<'_, PyState>,
        word: &str,
        out_state: &Bound<'_, PyState>,
    ) -> PyResult<f64> {
        let (prob, _, _) = self.kenlm_base_full_score(in_state, word, out_state)?;
        Ok(prob)
    }

    /// `(log10 p, n-gram length, is OOV)` of `word` after `in_state` (kenlm's
    /// `BaseFullScore`); the next state goes to `out_state`.
    #[pyo3(name = "BaseFullScore")]
    fn kenlm_base_full_score(
        &self,
        in_state: &Bound<'_, PyState>,
        word: &str,
        out_state: &Bound<'_, PyState>,
    ) -> PyResult<(f64, u8, bool)> {
        let state = in_state.try_borrow()?.inner;
        let mut out = State::default();
        let s = self
            .inner
            .full_score(&state, self.inner.index(word), &mut out);
        out_state.try_borrow_mut()?.inner = out;
        Ok((f64::from(s.prob), s.ngram_length, s.oov))
    }

    /// Alias of `BeginSentenceWrite`.
    fn begin_sentence_write(&self, state: PyRefMut<'_, PyState>) {
        self.kenlm_begin_sentence_write(state)
    }

    /// Alias of `NullContextWrite`.
    fn null_context_write(&self, state: PyRefMut<'_, PyState>) {
        self.kenlm_null_context_write(state)
    }

    /// Alias of `BaseScore`.
    fn base_score(
        &self,
        in_state: &Bound<'_, PyState>,
        word: &str,
        out_state: &Bound<'_, PyState>,
    ) -> PyResult<f64> {
        self.kenlm_base_score(in_state, word, out_state)
    }

    /// Alias of `BaseFullScore`.
    fn base_full_score(
        &self,
        in_state: &Bound<'_, PyState>,
        word: &str,
        out_state: &Bound<'_, PyState>,
    ) -> PyResult<(f64, u8, bool)> {
        self.kenlm_base_full_score(in_state, word, out_state)
    }

    /// Runs KenLM's `query` report over `inputs` (paths, `-` for stdin) into `output` (a path,
    /// `-` for stdout). Used by `kneser query`.
    #[pyo3(signature = (inputs, output = "-".to_string(), sentence_context = true, words = true, lines = true, summary = true))]
    #[allow(clippy::too_many_arguments)]
    fn _query(
        &self,
        py: Python<'_>,
        inputs: Vec<PathBuf>,
        output: String,
        sentence_context: bool,
        words: bool,
        lines: bool,
        summary: bool,
    ) -> PyResult<()> {
        let model = Arc::clone(&self.inner);
        let options = QueryOptions {
            sentence_context,
            print_words: words,
            print_lines: lines,
            print_summary: summary,
        };
        run_detached(py, move |cancel| {
            let run = |out: &mut dyn std::io::Write| -> kneser::Result<()> {
                let mut totals = QueryTotals::default();
                for path in &inputs {
                    let input = kneser::io::open_input(path)?;
                    let name = kneser::io::display_name(path);
                    query_input(&model, input, &name, out, options, &mut totals, cancel)?;
                }
                if options.print_summary {
                    write_summary(out, &totals)?;
                }
                out.flush()
                    .map_err(|e| kneser::Error::io("cannot write", &output, e))
            };
            if output == "-" {
                let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                run(&mut out)
            } else {
                let mut file = kneser::io::AtomicFile::create(&output)?;
                run(&mut file)?;
                file.commit()
            }
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "Model(path={:?}, order={}, vocab_size={})",
            self.path,
            self.inner.order(),
            self.inner.vocab_size()
        )
    }

    fn __getnewargs__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, [self.path.as_str()])
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyModel>()?;
    m.add_class::<PyState>()?;
    Ok(())
}
