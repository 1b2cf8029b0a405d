//! Bindings of estimation: `kneser.estimate`.

use std::path::PathBuf;

use kneser::{
    binary_output, count_to_file, explain_file, explain_text, parse_memory, BinaryLayout,
    EstimateConfig, Explained, Output, PruneConfig, Source, Summary, DEFAULT_FALLBACK,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::detach::{run_detached, run_detached_feeding};
use crate::errors::to_pyerr;
use crate::sources::{corpus, required_corpus, Corpus};

/// A path-like object (str or os.PathLike) as a path, or None.
fn as_path(obj: &Bound<'_, PyAny>) -> Option<PathBuf> {
    if obj.is_instance_of::<PyString>() {
        return obj.extract::<String>().ok().map(PathBuf::from);
    }
    if obj.hasattr("__fspath__").unwrap_or(false) {
        return obj.extract::<PathBuf>().ok();
    }
    None
}

/// A required argument that the signature leaves optional (it follows the optional source).
fn required<T>(api: &str, name: &str, value: Option<T>) -> PyResult<T> {
    value.ok_or_else(|| {
        pyo3::exceptions::PyTypeError::new_err(format!(
            "{api}() missing required argument: '{name}'"
        ))
    })
}

/// The `discount_fallback` argument: None, a bool, one float or a list of floats.
fn set_fallback(config: &mut EstimateConfig, f: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
    if let Some(f) = f {
        if let Ok(flag) = f.extract::<bool>() {
            if flag {
                config.discount_fallback = Some(DEFAULT_FALLBACK.to_vec());
            }
        } else if let Ok(v) = f.extract::<f32>() {
            config.discount_fallback = Some(vec![v]);
        } else {
            config.discount_fallback = Some(f.extract::<Vec<f32>>()?);
        }
    }
    Ok(())
}

fn memory_arg(py: Python<'_>, memory: &Bound<'_, PyAny>) -> PyResult<u64> {
    if let Ok(n) = memory.extract::<u64>() {
        return Ok(n);
    }
    let text: String = memory.extract()?;
    parse_memory(&text).map_err(|e| to_pyerr(py, e))
}

/// Applies the `memory` and `temp_dir` arguments shared by `estimate` and `count`.
fn set_budget(
    py: Python<'_>,
    config: &mut EstimateConfig,
    memory: Option<&Bound<'_, PyAny>>,
    temp_dir: Option<PathBuf>,
) -> PyResult<()> {
    if let Some(m) = memory {
        config.memory = memory_arg(py, m)?;
    }
    if let Some(t) = temp_dir {
        config.temp_dir = t;
    }
    Ok(())
}

fn read_limit_vocab(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if let Some(path) = as_path(obj) {
        let words = py.detach(|| kneser::read_limit_vocab(&path));
        return words.map_err(|e| to_pyerr(py, e));
    }
    let mut words = Vec::new();
    for item in obj.try_iter()? {
        words.push(item?.extract::<String>()?);
    }
    Ok(words)
}

/// The estimation options of a partitioned task as an [`EstimateConfig`]: `options` holds any
/// of estimate's keyword arguments memory, temp_dir, discount_fallback, prune, limit_vocab,
/// interpolate_unigrams, vocab_pad, threads, verbose, verbose_header, collapse_values, renumber
/// (another key is a TypeError).
pub(crate) fn estimate_config(
    py: Python<'_>,
    order: usize,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<EstimateConfig> {
    let mut config = EstimateConfig {
        order,
        ..Default::default()
    };
    let Some(options) = options else {
        config.validate().map_err(|e| to_pyerr(py, e))?;
        return Ok(config);
    };
    let (mut memory, mut temp_dir) = (None, None);
    for (key, value) in options.iter() {
        if value.is_none() {
            continue;
        }
        match key.extract::<String>()?.as_str() {
            "memory" => memory = Some(value),
            "temp_dir" => temp_dir = Some(value.extract::<PathBuf>()?),
            "discount_fallback" => set_fallback(&mut config, Some(&value))?,
            "prune" => {
                config.prune = PruneConfig {
                    thresholds: value.extract()?,
                }
            }
            "limit_vocab" => config.limit_vocab = Some(read_limit_vocab(py, &value)?),
            "interpolate_unigrams" => config.interpolate_unigrams = value.extract()?,
            "vocab_pad" => config.vocab_pad = value.extract()?,
            "threads" => config.threads = value.extract()?,
            "verbose" => config.verbose = value.extract()?,
            "verbose_header" => config.verbose_header = value.extract()?,
            "collapse_values" => config.collapse_values = value.extract()?,
            "renumber" => config.renumber = value.extract()?,
            other => {
                return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                    "{other:?} is not an option of a partitioned estimate"
                )))
            }
        }
    }
    set_budget(py, &mut config, memory.as_ref(), temp_dir)?;
    config.validate().map_err(|e| to_pyerr(py, e))?;
    Ok(config)
}

fn summary_dict<'py>(py: Python<'py>, s: &Summary) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("counts", s.counts.clone())?;
    d.set_item("unpruned_counts", s.unpruned.clone())?;
    let discounts = PyList::empty(py);
    for ds in &s.discounts {
        discounts.append(PyTuple::new(py, ds.iter().map(|&x| f64::from(x)))?)?;
    }
    d.set_item("discounts", discounts)?;
    d.set_item("fallback_orders", s.fallback_orders.clone())?;
    d.set_item("tokens", s.tokens)?;
    d.set_item("types", s.types)?;
    d.set_item("seconds", s.seconds)?;
    let stages = PyDict::new(py);
    for (name, secs) in &s.stage_seconds {
        stages.set_item(name, secs)?;
    }
    d.set_item("stage_seconds", stages)?;
    Ok(d)
}

/// Estimates a modified Kneser-Ney language model, as KenLM's lmplz does, and writes it as ARPA.
///
/// The corpus is named once: a positional path, `files=` (paths) or `texts=` (str lines),
/// never guessed from its type; or it is omitted with `from_counts`.
///
/// Args:
///     source: one path (plain, .gz, .xz, .zst; "-" for stdin) or a table (pyarrow.Table,
///         datasets.Dataset: its "text" column). Lists, tuples, iterators and bytes are refused
///         (TypeError): pass them as files= or texts=.
///     order: the model order N (>= 1).
///     arpa: where to write the ARPA ("-" for stdout). Written under a temporary name and
///         renamed when complete.
///     from_counts: count files written by kneser.count (of shards of one corpus, in corpus
///         order); the model equals the one of the concatenated shards.
///     memory: sort-buffer budget, bytes or lmplz's syntax ("500M", "2G", "80%").
///     temp_dir: directory for temp files (default: the system's).
///     discount_fallback: None (fail when discounts cannot be estimated), True (0.5 1 1.5), or
///         one to three floats (D1 D2 D3+, the last repeated).
///     prune: thresholds per order, non-decreasing, the last repeated ([0, 1, 1] prunes
///         singleton bigrams and trigrams).
///     limit_vocab: a path or an iterable of allowed words; n-grams with any other word are
///         pruned.
///     interpolate_unigrams: interpolate unigrams with the uniform distribution (lmplz default).
///     vocab_pad: pad the uniform distribution's vocabulary size to at least this.
///     skip_symbols: treat <s>, </s>, <unk> in the text as whitespace instead of failing.
///     replace_invalid_utf8: replace invalid UTF-8 instead of failing with the line number.
///     lmplz_final_line: text after the last newline gets no </s> (lmplz's behaviour).
///     verbose_header: start the ARPA with lmplz's `--verbose_header` comment lines (input
///         file, token count, smoothing).
///     collapse_values: write q, probability and backoff collapsed into one value, instead of
///         both (lmplz's `--collapse_values`).
///     renumber: number the vocabulary in hash order of the words, as lmplz's `--renumber`
///         (changes the order of the ARPA's n-grams).
///     threads: worker threads, 0 for all cores.
///     verbose: print lmplz-style progress and statistics on stderr.
///     files: a path or an iterable of paths, read in order.
///     texts: an iterable of str, one line (sentence) per item, pulled in batches.
///
/// With ``binary=`` instead of ``arpa=``, the model goes straight to a KenLM binary file (no ARPA
/// file is written): ``binary_layout`` ``"probing"`` or ``"trie"`` with ``quantize``,
/// ``backoff_bits``, ``array_bits`` (``build_binary``'s ``-q``, ``-b``, ``-a``) and
/// ``include_vocab``; the bytes are those ``build_binary`` writes for the ARPA.
///
/// Returns:
///     dict with counts (per order), unpruned_counts, discounts ((D1, D2, D3+) per order),
///     fallback_orders, tokens, types, seconds and stage_seconds (each stage's wall seconds
///     in turn: count, adjust, discount, initial 2, write 1, initial 3, write 2, ..., write N,
///     finish).
///
/// Example:
///     >>> kneser.estimate("corpus.txt", order=3, arpa="lm.arpa", memory="1G")["counts"]
///     [19467, 86567, 132688]
///     >>> kneser.estimate(texts=["a b c", "b c"], order=2, arpa="lm.arpa", discount_fallback=True)
#[pyfunction]
#[pyo3(signature = (
    source = None, order = None, arpa = None, *, files = None, texts = None, from_counts = None, memory = None, temp_dir = None, discount_fallback = None,
    prune = None, limit_vocab = None, interpolate_unigrams = true, vocab_pad = 0,
    skip_symbols = false, replace_invalid_utf8 = false, lmplz_final_line = true, threads = 0,
    verbose = false, verbose_header = false, collapse_values = false, renumber = false,
    binary = None, binary_layout = "probing", quantize = None, backoff_bits = None, array_bits = None,
    include_vocab = true
))]
#[allow(clippy::too_many_arguments)]
fn estimate<'py>(
    py: Python<'py>,
    source: Option<&Bound<'py, PyAny>>,
    order: Option<usize>,
    arpa: Option<PathBuf>,
    files: Option<&Bound<'py, PyAny>>,
    texts: Option<&Bound<'py, PyAny>>,
    from_counts: Option<Vec<PathBuf>>,
    memory: Option<&Bound<'py, PyAny>>,
    temp_dir: Option<PathBuf>,
    discount_fallback: Option<&Bound<'py, PyAny>>,
    prune: Option<Vec<u64>>,
    limit_vocab: Option<&Bound<'py, PyAny>>,
    interpolate_unigrams: bool,
    vocab_pad: u64,
    skip_symbols: bool,
    replace_invalid_utf8: bool,
    lmplz_final_line: bool,
    threads: usize,
    verbose: bool,
    verbose_header: bool,
    collapse_values: bool,
    renumber: bool,
    binary: Option<PathBuf>,
    binary_layout: &str,
    quantize: Option<u8>,
    backoff_bits: Option<u8>,
    array_bits: Option<u8>,
    include_vocab: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let order = required("estimate", "order", order)?;
    let layout =
        match crate::model::trie_options(binary_layout, quantize, backoff_bits, array_bits)? {
            None => BinaryLayout::Probing,
            Some(o) => BinaryLayout::Trie(o),
        };
    if binary.is_some() && arpa.is_some() {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "give arpa= or binary=, not both (build the binary from the ARPA with build_binary)",
        ));
    }
    let output = match binary {
        // The records go straight to the binary builders: no ARPA text.
        Some(path) => binary_output(path, layout, include_vocab).map_err(|e| to_pyerr(py, e))?,
        None => Output::Path(required("estimate", "arpa", arpa)?),
    };
    let corpus = corpus("estimate", source, files, texts)?;
    let mut config = EstimateConfig {
        order,
        interpolate_unigrams,
        vocab_pad,
        skip_symbols,
        replace_invalid_utf8,
        lmplz_final_line,
        threads,
        verbose,
        verbose_header,
        collapse_values,
        renumber,
        ..Default::default()
    };
    set_budget(py, &mut config, memory, temp_dir)?;
    set_fallback(&mut config, discount_fallback)?;
    if let Some(p) = prune {
        config.prune = PruneConfig { thresholds: p };
    }
    if let Some(l) = limit_vocab {
        config.limit_vocab = Some(read_limit_vocab(py, l)?);
    }
    config.validate().map_err(|e| to_pyerr(py, e))?;
    // `-` is stdout, claimed by the core's output layer like any path.
    let summary = match (corpus, from_counts) {
        (Some(_), Some(_)) => {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "give either a corpus (source, files= or texts=) or from_counts, not both",
            ))
        }
        (None, Some(counts)) => run_detached(py, move |cancel| {
            kneser::estimate(Source::Counts(counts), &config, output, cancel)
        }),
        (None, None) => return Err(pyo3::exceptions::PyTypeError::new_err(
            "estimate: no corpus given: pass a path, files=[...], texts=... or from_counts=[...]",
        )),
        (Some(Corpus::Files(paths)), None) => run_detached(py, move |cancel| {
            kneser::estimate(Source::Paths(paths), &config, output, cancel)
        }),
        (Some(Corpus::Texts(texts)), None) => {
            run_detached_feeding(py, &texts, move |cancel, batches| {
                kneser::estimate(Source::Batches(batches), &config, output, cancel)
            })
        }
    };
    let summary = summary?;
    summary_dict(py, &summary)
}

/// Counts the order-N windows of a corpus into a count file, for estimating later (possibly
/// merged with the count files of other shards: `estimate(None, order, arpa, from_counts=[...])`).
///
/// Args:
///     source: one path or a table (a list or an iterator is refused: pass files= or texts=).
///     order: the model order N.
///     output: the count file to write (atomically).
///     memory, temp_dir, skip_symbols, replace_invalid_utf8, lmplz_final_line, threads,
///         verbose: as for estimate.
///     files: a path or an iterable of paths, read in order.
///     texts: an iterable of str, one line per item.
///
/// Returns:
///     dict with order, tokens, words (vocabulary size) and records (distinct windows).
///
/// Example:
///     >>> kneser.count("shard1.txt", order=5, output="shard1.counts")["records"]
#[pyfunction]
#[pyo3(signature = (
    source = None, order = None, output = None, *, files = None, texts = None, memory = None, temp_dir = None, skip_symbols = false,
    replace_invalid_utf8 = false, lmplz_final_line = true, threads = 0, verbose = false
))]
#[allow(clippy::too_many_arguments)]
fn count<'py>(
    py: Python<'py>,
    source: Option<&Bound<'py, PyAny>>,
    order: Option<usize>,
    output: Option<PathBuf>,
    files: Option<&Bound<'py, PyAny>>,
    texts: Option<&Bound<'py, PyAny>>,
    memory: Option<&Bound<'py, PyAny>>,
    temp_dir: Option<PathBuf>,
    skip_symbols: bool,
    replace_invalid_utf8: bool,
    lmplz_final_line: bool,
    threads: usize,
    verbose: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let order = required("count", "order", order)?;
    let output = required("count", "output", output)?;
    let corpus = required_corpus("count", source, files, texts)?;
    let mut config = EstimateConfig {
        order,
        skip_symbols,
        replace_invalid_utf8,
        lmplz_final_line,
        threads,
        verbose,
        ..Default::default()
    };
    set_budget(py, &mut config, memory, temp_dir)?;
    config.validate().map_err(|e| to_pyerr(py, e))?;
    let header = match corpus {
        Corpus::Files(paths) => run_detached(py, move |cancel| {
            count_to_file(Source::Paths(paths), &config, &output, cancel)
        })?,
        Corpus::Texts(texts) => run_detached_feeding(py, &texts, move |cancel, batches| {
            count_to_file(Source::Batches(batches), &config, &output, cancel)
        })?,
    };
    let d = PyDict::new(py);
    d.set_item("order", header.order)?;
    d.set_item("tokens", header.tokens)?;
    d.set_item("words", header.words)?;
    d.set_item("records", header.records)?;
    Ok(d)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(estimate, m)?)?;
    m.add_function(wrap_pyfunction!(count, m)?)?;
    m.add_function(wrap_pyfunction!(explain, m)?)?;
    Ok(())
}

/// One record's fields, before and after their conversion errors are checked.
type Fields<'py> = Vec<(&'static str, PyResult<Bound<'py, PyAny>>)>;
type Record<'py> = Vec<(&'static str, Bound<'py, PyAny>)>;

fn rows<'py>(
    py: Python<'py>,
    items: impl Iterator<Item = Record<'py>>,
) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for fields in items {
        let d = PyDict::new(py);
        for (k, v) in fields {
            d.set_item(k, v)?;
        }
        out.append(d)?;
    }
    Ok(out)
}

fn explained_dict<'py>(py: Python<'py>, e: &Explained) -> PyResult<Bound<'py, PyDict>> {
    use pyo3::IntoPyObjectExt;
    let d = PyDict::new(py);
    let s = |v: &[String]| v.join(" ");
    let f = |x: f32| f64::from(x).into_bound_py_any(py);
    d.set_item("order", e.order)?;
    let sentences: Vec<String> = e.sentences.iter().map(|v| s(v)).collect();
    d.set_item("sentences", sentences)?;
    let raw = e.raw.iter().map(|(w, c)| {
        vec![
            ("ngram", s(w).into_bound_py_any(py)),
            ("count", c.into_bound_py_any(py)),
        ]
    });
    let raw: Vec<Fields<'py>> = raw.collect();
    let unwrap = |v: Vec<Fields<'py>>| -> PyResult<Vec<Record<'py>>> {
        v.into_iter()
            .map(|r| r.into_iter().map(|(k, x)| x.map(|x| (k, x))).collect())
            .collect()
    };
    d.set_item("raw", rows(py, unwrap(raw)?.into_iter())?)?;
    let mut adjusted = Vec::new();
    let mut uninterpolated = Vec::new();
    let mut gammas = Vec::new();
    let mut interpolated = Vec::new();
    let mut discounts = Vec::new();
    for k in 1..=e.order {
        for (w, c, pruned) in e.adjusted.get(k - 1).into_iter().flatten() {
            adjusted.push(vec![
                ("order", k.into_bound_py_any(py)),
                ("ngram", s(w).into_bound_py_any(py)),
                ("count", c.into_bound_py_any(py)),
                ("pruned", pruned.into_bound_py_any(py)),
            ]);
        }
        for (w, p, g) in e.uninterpolated.get(k - 1).into_iter().flatten() {
            uninterpolated.push(vec![
                ("order", k.into_bound_py_any(py)),
                ("ngram", s(w).into_bound_py_any(py)),
                ("context", s(&w[..w.len() - 1]).into_bound_py_any(py)),
                ("word", w[w.len() - 1].clone().into_bound_py_any(py)),
                ("p", f(*p)),
                ("gamma", f(*g)),
            ]);
        }
        for (w, g) in e.gammas.get(k - 1).into_iter().flatten() {
            gammas.push(vec![
                ("order", k.into_bound_py_any(py)),
                ("context", s(w).into_bound_py_any(py)),
                ("gamma", f(*g)),
            ]);
        }
        for (w, p) in e.interpolated.get(k - 1).into_iter().flatten() {
            interpolated.push(vec![
                ("order", k.into_bound_py_any(py)),
                ("ngram", s(w).into_bound_py_any(py)),
                ("p", f(*p)),
            ]);
        }
        let n = e.count_of_counts.get(k - 1).copied().unwrap_or_default();
        let ds = e.discounts.get(k - 1).copied().unwrap_or_default();
        discounts.push(vec![
            ("order", k.into_bound_py_any(py)),
            ("n1", n[0].into_bound_py_any(py)),
            ("n2", n[1].into_bound_py_any(py)),
            ("n3", n[2].into_bound_py_any(py)),
            ("n4", n[3].into_bound_py_any(py)),
            ("Y", f(e.y.get(k - 1).copied().unwrap_or(f32::NAN))),
            ("D1", f(ds[0])),
            ("D2", f(ds[1])),
            ("D3+", f(ds[2])),
            (
                "fallback",
                e.fallback_orders.contains(&k).into_bound_py_any(py),
            ),
        ]);
    }
    d.set_item("adjusted", rows(py, unwrap(adjusted)?.into_iter())?)?;
    d.set_item("discounts", rows(py, unwrap(discounts)?.into_iter())?)?;
    d.set_item(
        "uninterpolated",
        rows(py, unwrap(uninterpolated)?.into_iter())?,
    )?;
    d.set_item("gammas", rows(py, unwrap(gammas)?.into_iter())?)?;
    d.set_item("interpolated", rows(py, unwrap(interpolated)?.into_iter())?)?;
    d.set_item("arpa", &e.arpa)?;
    if let Some(summary) = &e.summary {
        d.set_item("summary", summary_dict(py, summary)?)?;
    }
    Ok(d)
}

/// Runs the estimator on a small corpus and returns every stage's output, as `kneser explain`
/// prints it (at most 2,000 tokens; a larger corpus raises ArgumentError).
///
/// Args:
///     source: a path (plain or compressed), or None with text=.
///     order: the model order N.
///     text: the corpus as one str (lines separated by newlines).
///     discount_fallback, prune, interpolate_unigrams, vocab_pad, skip_symbols,
///         lmplz_final_line, collapse_values: as for estimate.
///
/// Returns:
///     dict with order, sentences, and lists of records (dicts): raw, adjusted, discounts,
///     uninterpolated, gammas, interpolated; arpa (the ARPA text) and summary (as estimate's).
///
/// Example:
///     >>> kneser.explain(text="我 你 我 他 我 你\n", order=2, discount_fallback=True)["arpa"]
#[pyfunction]
#[pyo3(signature = (
    source = None, order = None, *, text = None, discount_fallback = None, prune = None,
    interpolate_unigrams = true, vocab_pad = 0, skip_symbols = false, lmplz_final_line = true,
    collapse_values = false
))]
#[allow(clippy::too_many_arguments)]
fn explain<'py>(
    py: Python<'py>,
    source: Option<PathBuf>,
    order: Option<usize>,
    text: Option<String>,
    discount_fallback: Option<&Bound<'py, PyAny>>,
    prune: Option<Vec<u64>>,
    interpolate_unigrams: bool,
    vocab_pad: u64,
    skip_symbols: bool,
    lmplz_final_line: bool,
    collapse_values: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let order = required("explain", "order", order)?;
    let mut config = EstimateConfig {
        order,
        interpolate_unigrams,
        vocab_pad,
        skip_symbols,
        lmplz_final_line,
        collapse_values,
        threads: 1,
        ..Default::default()
    };
    set_fallback(&mut config, discount_fallback)?;
    if let Some(p) = prune {
        config.prune = PruneConfig { thresholds: p };
    }
    config.validate().map_err(|e| to_pyerr(py, e))?;
    let e = match (source, text) {
        (Some(path), None) => run_detached(py, move |cancel| explain_file(&path, &config, cancel))?,
        (None, Some(text)) => run_detached(py, move |cancel| explain_text(&text, &config, cancel))?,
        _ => {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "explain: give exactly one corpus: a path, or text=\"...\"",
            ))
        }
    };
    explained_dict(py, &e)
}
