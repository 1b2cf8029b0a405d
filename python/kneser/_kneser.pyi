"""Type stubs of the native module ``kneser._kneser`` (kept in step with the Rust docstrings)."""

import os
from collections.abc import Iterable, Iterator, Sequence
from os import PathLike
from typing import Any, Literal, final, overload

import numpy as np
import numpy.typing as npt

__version__: str
DEFAULT_MEMORY: int
# The defaults the Python API and the CLI take (kneser::pipeline, read_lines).
DEFAULT_PERCENTILES: tuple[float, float]
DEFAULT_CALIBRATION: int
DEFAULT_BATCH_SIZE: int
# encode_corpus's defaults: dtype, format, shard_tokens, eod, prefix (kneser::EncodeConfig).
ENCODE_DEFAULTS: dict[str, Any]
DEFAULT_LINE_BATCH: int
LMPLZ_SEPARATORS: str

def _busy_wait(seconds: float) -> int: ...
def _raise_core_error(kind: str) -> None: ...
def estimate(
    source: str | PathLike[str] | None = None,
    order: int | None = None,
    arpa: str | PathLike[str] | None = None,
    *,
    files: str | PathLike[str] | Iterable[str | PathLike[str]] | None = None,
    texts: Iterable[str] | None = None,
    from_counts: Sequence[str | PathLike[str]] | None = None,
    memory: int | str | None = None,
    temp_dir: str | PathLike[str] | None = None,
    discount_fallback: bool | float | Sequence[float] | None = None,
    prune: Sequence[int] | None = None,
    limit_vocab: str | PathLike[str] | Iterable[str] | None = None,
    interpolate_unigrams: bool = True,
    vocab_pad: int = 0,
    skip_symbols: bool = False,
    replace_invalid_utf8: bool = False,
    lmplz_final_line: bool = True,
    threads: int = 0,
    verbose: bool = False,
    verbose_header: bool = False,
    collapse_values: bool = False,
    renumber: bool = False,
    binary: str | PathLike[str] | None = None,
    binary_layout: str = "probing",
    quantize: int | None = None,
    backoff_bits: int | None = None,
    array_bits: int | None = None,
    include_vocab: bool = True,
) -> dict[str, Any]:
    """Estimates a modified Kneser-Ney language model, as KenLM's lmplz does, and writes it as
    ARPA (atomically). The corpus is one positional path, ``files=`` (paths) or ``texts=`` (an
    iterable of str lines), or ``from_counts=``; a ``pyarrow.Table`` / ``datasets.Dataset``
    (its ``text`` column) positionally or as ``texts=``; a list, tuple, iterator or bytes given
    positionally is a TypeError. ``order`` and ``arpa`` are required. Returns counts,
    unpruned_counts, discounts, fallback_orders, tokens, types, seconds and stage_seconds
    (each stage's wall seconds, in order). See the Rust
    docstring in rust/kneser-py/src/estimate.rs for every argument."""

def explain(
    source: str | PathLike[str] | None = None,
    order: int | None = None,
    *,
    text: str | None = None,
    discount_fallback: bool | float | Sequence[float] | None = None,
    prune: Sequence[int] | None = None,
    interpolate_unigrams: bool = True,
    vocab_pad: int = 0,
    skip_symbols: bool = False,
    lmplz_final_line: bool = True,
    collapse_values: bool = False,
) -> dict[str, Any]:
    """Runs the estimator on a small corpus (at most 2,000 tokens) and returns every stage's
    output: sentences, and lists of records raw, adjusted, discounts, uninterpolated, gammas,
    interpolated; arpa and summary. See the docstring in rust/kneser-py/src/estimate.rs."""

def count(
    source: str | PathLike[str] | None = None,
    order: int | None = None,
    output: str | PathLike[str] | None = None,
    *,
    files: str | PathLike[str] | Iterable[str | PathLike[str]] | None = None,
    texts: Iterable[str] | None = None,
    memory: int | str | None = None,
    temp_dir: str | PathLike[str] | None = None,
    skip_symbols: bool = False,
    replace_invalid_utf8: bool = False,
    lmplz_final_line: bool = True,
    threads: int = 0,
    verbose: bool = False,
) -> dict[str, Any]:
    """Counts the order-N windows of a corpus (one positional path or table, ``files=`` or
    ``texts=``)
    into a count file for sharded estimation (``estimate(order=N, arpa=..., from_counts=[...])``).
    Returns order, tokens, words and records."""

@final
class read_lines:
    """Batches of ``(line_number, text)`` from a plain, gz, xz, zst or bz2 file ("-" is stdin);
    ``errors`` is "strict", "replace" or "skip" (an invalid line's text is then None)."""

    def __new__(
        cls, path: str | PathLike[str], batch_size: int = ..., errors: str = "strict"
    ) -> read_lines: ...
    def __iter__(self) -> read_lines: ...
    def __next__(self) -> list[tuple[int, str | None]]: ...

@final
class read_documents:
    """The documents of a JSON-lines (or, with ``text``, plain text) file batch by batch:
    ``(texts, json_lines, malformed)`` per ``batch_size`` input lines (``kneser::documents``)."""

    def __new__(
        cls,
        path: str | PathLike[str],
        field: str = ...,  # "text"
        text: bool = False,
        on_error: str = "skip",
        batch_size: int = ...,  # DEFAULT_BATCH_SIZE
    ) -> read_documents: ...
    def __iter__(self) -> read_documents: ...
    def __next__(self) -> tuple[list[str], list[bytes], list[tuple[str, int, str]]]: ...

@final
class PipelineJob:
    """The generic pipeline's job (``kneser::pipeline``): the whole stage loop of
    ``kneser.Pipeline.run``, one core call per batch."""

    def __new__(
        cls,
        model: Model,
        *,
        normalizer: Normalizer | None = None,
        tokenizer: Tokenizer | None = None,
        external_tokens: bool = False,
        dedup: str | None = None,
        percentiles: tuple[float, float] = ...,  # DEFAULT_PERCENTILES
        thresholds: tuple[float, float] | None = None,
        calibration: int = ...,  # DEFAULT_CALIBRATION
        keep: Sequence[str] | None = None,  # None: every bucket
        shard_text: str = "none",
    ) -> PipelineJob: ...
    def read(
        self,
        path: str | PathLike[str],
        field: str = ...,  # "text"
        text: bool = False,
        on_error: str = "skip",
        batch_size: int = ...,  # DEFAULT_BATCH_SIZE
    ) -> PipelineBatches: ...
    def documents(
        self, texts: Sequence[str], lines: Sequence[bytes]
    ) -> tuple[bytes, bytes, list[str] | None]: ...
    def emit(self, tokens: Sequence[Sequence[str]]) -> tuple[bytes, bytes]: ...
    def finish(self) -> tuple[bytes, bytes]: ...
    @property
    def report(self) -> dict[str, Any]: ...

@final
class PipelineBatches:
    """The batches of one input of a :class:`PipelineJob`: ``(documents, shard, lines)``."""

    def __iter__(self) -> PipelineBatches: ...
    def __next__(self) -> tuple[bytes, bytes, list[str] | None]: ...

def percentile(values: Sequence[float], qs: Sequence[float]) -> list[float]:
    """numpy's ``np.percentile(values, qs)`` ('linear'), ``kneser::pipeline::percentile``."""

def pipeline_histogram_edges() -> list[float]:
    """The edges of the pipeline's log10-perplexity histogram."""

def document_perplexities(model: Model, texts: Sequence[str]) -> npt.NDArray[np.float64]:
    """Each text's perplexity as a document of lines, as ``kneser.Pipeline`` scores them."""

def normalize_documents(normalizer: Normalizer, texts: Sequence[str]) -> list[str]:
    """Each text normalized line by line, as ``kneser.Pipeline`` normalizes its documents."""

def prepare_lines(
    texts: Sequence[str], normalizer: Normalizer | None = None, tokenizer: Tokenizer | None = None
) -> list[str]:
    """Each text normalized, tokenized and its tokens joined by one space (``train_lm``'s lines)."""

def bucket_indices(values: Sequence[float], cutoffs: Sequence[float]) -> npt.NDArray[np.intp]:
    """How many of the increasing ``cutoffs`` are at or below each value (the last for NaN)."""

def is_parquet(path: str | PathLike[str]) -> bool:
    """Whether ``path`` starts with Parquet's ``PAR1`` magic (``kneser::io::is_parquet``)."""

@final
class OutputFile:
    """The core's output layer: claimed before any work ("-" is stdout, a FIFO or device is
    written in place, a regular file appears only on ``commit()``); refuses an input as output."""

    def __new__(
        cls, path: str | PathLike[str], inputs: Sequence[str | PathLike[str]] = ...
    ) -> OutputFile: ...
    def write(self, data: str | bytes) -> None: ...
    def commit(self) -> None: ...
    def abort(self) -> None: ...
    @property
    def name(self) -> str: ...
    def __enter__(self) -> OutputFile: ...
    def __exit__(self, exc_type: Any = None, _exc: Any = None, _tb: Any = None) -> bool: ...

def claim_output(path: str | PathLike[str], inputs: Sequence[str | PathLike[str]] = ...) -> None:
    """Checks an output path before any work as ``OutputFile`` would."""

# --- model (scoring) ---------------------------------------------------------------------------

@final
class State:
    """A context for word-by-word scoring (kenlm's ``State``): the recent words and their
    backoffs. States compare and hash as kenlm's (by length, then the word ids' bytes)."""

    def __new__(cls) -> State: ...
    def __len__(self) -> int: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __ne__(self, other: object, /) -> bool: ...
    def __lt__(self, other: State, /) -> bool: ...
    def __le__(self, other: State, /) -> bool: ...
    def __gt__(self, other: State, /) -> bool: ...
    def __ge__(self, other: State, /) -> bool: ...
    def __hash__(self) -> int: ...
    def __copy__(self) -> State: ...
    def __deepcopy__(self, memo: object) -> State: ...

@final
class LoadMethod:
    """kenlm's ``LoadMethod`` values: how a binary model is brought into memory."""

    LAZY: int
    POPULATE_OR_LAZY: int
    POPULATE_OR_READ: int
    READ: int
    PARALLEL_READ: int

@final
class ARPALoadComplain:
    """kenlm's ``ARPALoadComplain`` values (kneser never complains on stderr)."""

    ALL: int
    EXPENSIVE: int
    NONE: int

@final
class Config:
    """Loading options for ``Model(path, config)``, as kenlm's ``Config``."""

    load_method: int
    show_progress: bool
    arpa_complain: int
    def __new__(cls) -> Config: ...

class FullScoreReturn:
    """The score of one word from ``Model.BaseFullScore``, as kenlm's ``FullScoreReturn``."""

    def __new__(cls, log_prob: float, ngram_length: int, oov: object) -> FullScoreReturn: ...
    @property
    def log_prob(self) -> float: ...
    @property
    def ngram_length(self) -> int: ...
    @property
    def oov(self) -> bool: ...

def build_binary(
    arpa: str | PathLike[str],
    output: str | PathLike[str],
    probing_multiplier: float | None = None,
    include_vocab: bool = True,
    map_positive: bool = False,
    unknown_log10p: float | None = None,
    layout: str = "probing",
    quantize: int | None = None,
    backoff_bits: int | None = None,
    array_bits: int | None = None,
    allow_missing_markers: bool = False,
) -> None: ...
def memory_estimate(
    arpa: str | PathLike[str],
    probing_multiplier: float | None = None,
    prob_bits: int | None = None,
    backoff_bits: int | None = None,
    array_bits: int | None = None,
) -> str: ...

class Model:
    """An n-gram language model for scoring, with KenLM's numbers: the kenlm module's ``Model``.

    Loads an ARPA file (KenLM's, SRILM's or kneser's; plain, .gz, .xz or .zst) or a kneser
    binary model (recognised by its magic bytes; memory-mapped, or read into memory, as
    ``config.load_method`` says). Text arguments are ``str`` or ``bytes``, as in kenlm.

    A memory-mapped binary model must not be changed or truncated in place on disk while it
    is loaded: the kernel then kills the process with SIGBUS when a page of it is read (KenLM
    behaves the same). Replacing it by a rename (as kneser's own writers do) is safe. Load
    with ``config.load_method = LoadMethod.READ`` to copy the file into memory instead.

    Checks on load: of a KenLM trie, every load checks what KenLM checks (header, counts, sizes,
    unigram pointers, each middle order's first and last pointer, quantization tables); only
    ``LoadMethod.READ``, which copies the file anyway, also checks every middle-order pointer and
    word id (a mapped load would read the whole file for it). A corrupted entry a mapped load
    does not check scores wrongly, as in KenLM, but never crashes.
    """

    path: bytes
    def __new__(cls, path: str | bytes | PathLike[str], config: Config | None = None) -> Model: ...
    @property
    def order(self) -> int: ...
    @property
    def vocab_size(self) -> int: ...
    @property
    def is_binary(self) -> bool: ...
    @property
    def unk_missing(self) -> bool: ...
    def __contains__(self, word: str | bytes, /) -> bool: ...
    def index(self, word: str) -> int: ...
    def score(self, sentence: str | bytes, bos: object = True, eos: object = True) -> float: ...
    def full_scores(
        self, sentence: str | bytes, bos: object = True, eos: object = True
    ) -> Iterator[tuple[float, int, bool]]: ...
    def perplexity(self, sentence: str | bytes) -> float: ...
    def score_batch(
        self, texts: Iterable[str], bos: bool = True, eos: bool = True
    ) -> npt.NDArray[np.float64]: ...
    def perplexity_batch(self, texts: Iterable[str]) -> npt.NDArray[np.float64]: ...
    def save_binary(
        self,
        path: str | PathLike[str],
        include_vocab: bool = True,
        layout: str = "probing",
        quantize: int | None = None,
        backoff_bits: int | None = None,
        array_bits: int | None = None,
    ) -> None: ...
    def BeginSentenceWrite(self, state: State) -> None: ...
    def NullContextWrite(self, state: State) -> None: ...
    def BaseScore(self, in_state: State, word: str, out_state: State) -> float: ...
    def BaseFullScore(self, in_state: State, word: str, out_state: State) -> FullScoreReturn: ...
    def begin_sentence_write(self, state: State) -> None: ...
    def null_context_write(self, state: State) -> None: ...
    def base_score(self, in_state: State, word: str, out_state: State) -> float: ...
    def base_full_score(self, in_state: State, word: str, out_state: State) -> FullScoreReturn: ...
    def __reduce__(self) -> tuple[type[Model], tuple[bytes]]: ...
    def _query(
        self,
        inputs: list[str],
        output: str = ...,
        sentence_context: bool = True,
        words: bool = True,
        lines: bool = True,
        summary: bool = True,
        flush: bool = False,
    ) -> None: ...

@final
class Normalizer:
    """Cleans text with an ordered list of steps, or one of the CCNet presets.

    The keyword options apply in this order: ``unicode``, ``urls``, ``emails``, ``lowercase``,
    ``strip_accents``, ``digits``, ``punct``, ``remove_control``, ``collapse_whitespace``,
    ``strip``.

    Args:
        unicode: None, "NFC", "NFKC", "NFD" or "NFKD".
        urls: replace URLs with this string (None keeps them).
        emails: replace e-mail addresses with this string (None keeps them).
        lowercase: Unicode lowercasing, as Python's str.lower().
        strip_accents: NFD, then drop non-spacing marks (as CCNet).
        digits: None, "each" (every decimal digit to 0) or "run" (every run of digits to 0).
        punct: None, "ccnet-map" (CCNet's table to ASCII), "ccnet-remove" (delete the
            table's characters) or "remove-all" (delete all punctuation).
        remove_control: delete U+0000..U+001F and U+007F..U+009F (as CCNet).
        collapse_whitespace: each run of whitespace becomes one space.
        strip: remove leading and trailing whitespace (Python's str.strip()).

    The Unicode data (case, normalization, digits, marks) is that of Rust's standard library
    and the unicode crates (Unicode 17 to 18), newer than a Python's ``unicodedata`` (3.11:
    14.0): characters assigned or re-categorised after the running Python's version can differ
    from what ``str.lower()``, ``unicodedata.normalize`` or CCNet give (U+1171E, a spacing mark
    since Unicode 16, is kept by strip_accents); every other character is the same.

    Example:
        >>> kneser.Normalizer(lowercase=True, digits="run", strip=True).normalize(" Tel 0123 ")
        'tel 0'
        >>> kneser.Normalizer.ccnet().normalize("Café «2024»")
        'cafe "0000"'
    """

    def __new__(
        cls,
        *,
        unicode: Literal["NFC", "NFKC", "NFD", "NFKD"] | None = None,
        urls: str | None = None,
        emails: str | None = None,
        lowercase: bool = False,
        strip_accents: bool = False,
        digits: Literal["each", "run"] | None = None,
        punct: Literal["ccnet-map", "ccnet-remove", "remove-all"] | None = None,
        remove_control: bool = False,
        collapse_whitespace: bool = False,
        strip: bool = False,
    ) -> Normalizer: ...
    @staticmethod
    def ccnet(
        punct: int = 1, accent: bool = True, case: bool = True, numbers: bool = True
    ) -> Normalizer:
        """CCNet's ``text_normalizer.normalize(line, accent, case, numbers, punct)``.

        Args:
            punct: 0 leaves punctuation, 1 maps CCNet's table to ASCII, 2 removes its characters.
            accent: strip accents (NFD, then drop non-spacing marks).
            case: lowercase.
            numbers: replace every decimal digit with 0.

        Example:
            >>> kneser.Normalizer.ccnet(punct=2).normalize("«Ça va ?»")
            'ca va ?'
        """
    @staticmethod
    def ccnet_dedup() -> Normalizer:
        """CCNet's ``text_normalizer.normalize_for_dedup(line)``: strip, lowercase, digits to 0,
        CCNet's punctuation table and control characters removed.

        Example:
            >>> kneser.Normalizer.ccnet_dedup().normalize(" Ünï， 42 ")
            'ünï 00'
        """
    def normalize(self, text: str) -> str:
        """The normalized ``text``.

        Args:
            text: a str. Lone surrogates (from ``errors="surrogateescape"`` decoding, or JSON
                escapes) are kept where they are, as Python's own string functions keep them.
        """
    def normalize_batch(self, texts: Iterable[str]) -> list[str]:
        """The normalized texts, in input order; computed in parallel with the GIL released.
        Lone surrogates are kept, as in ``normalize``.

        Args:
            texts: an iterable of str.
        """
    @property
    def steps(self) -> list[str]:
        """The steps, in the order they are applied, as readable strings."""

class Tokenizer:
    """Splits text into tokens.

    Args:
        mode: "whitespace" (lmplz's rule: space, tab, CR, LF and NUL separate tokens),
            "unicode-words" (UAX #29 words), "cjk-chars" (each Han, kana or hangul character
            a token; other letter and digit runs whole; punctuation separate) or
            "punctuation" (whitespace splitting, each punctuation character a token),
            or a kneser.Segmenter (its words, HMM off, whitespace words dropped; the
            tokenizer keeps the dictionary as it is now, later add_word calls do not change it).
        lowercase: lowercase each token.
        stopwords: None, "en" or "zh" (our built-in lists), a path to a file with one word
            per line, or an iterable of str. Matched exactly after lowercasing.

    Example:
        >>> kneser.Tokenizer("whitespace").tokenize("a  b")
        ['a', 'b']
        >>> kneser.Tokenizer("unicode-words", lowercase=True, stopwords="en").tokenize("The cat.")
        ['cat']
    """

    def __new__(
        cls,
        mode: Literal["whitespace", "unicode-words", "cjk-chars", "punctuation"]
        | Segmenter
        | None = None,
        lowercase: bool = False,
        stopwords: str | os.PathLike[str] | Iterable[str] | None = None,
    ) -> Tokenizer: ...
    def tokenize(self, text: str) -> list[str]:
        """The tokens of ``text`` as a list of str.

        Args:
            text: a str (a lone surrogate in it raises kneser.FormatError).
        """
    def tokenize_batch(self, texts: Iterable[str]) -> list[list[str]]:
        """The tokens of each text, in input order; computed in parallel with the GIL released.

        Args:
            texts: an iterable of str.
        """
    @property
    def mode(self) -> str:
        """The splitting mode's name."""
    @property
    def lowercase(self) -> bool:
        """Whether tokens are lowercased."""

# --- Segmenter (Chinese word segmentation; jieba's algorithm with its HMM off) ---

@final
class Segmenter:
    """Splits Chinese text into words with a jieba-format dictionary: jieba's word DAG and its
    maximum-probability route (``jieba.cut(text, HMM=False)``), or its full mode; the methods
    of ``jieba.Tokenizer`` with the HMM off.

    ``Segmenter()`` starts with an empty dictionary; ``Segmenter(dictionary)`` (or
    ``Segmenter.from_dict``) loads one, as ``jieba.Tokenizer(dictionary)``. Text arguments are
    ``str``, or bytes decoded as jieba decodes them (UTF-8, else GBK ignoring errors).

    Example:
        >>> seg = kneser.Segmenter.from_dict("dict.txt")
        >>> seg.lcut("我爱北京天安门")
        ['我', '爱', '北京', '天安门']
    """

    def __new__(cls, dictionary: str | os.PathLike[str] | None = None) -> Segmenter: ...
    @staticmethod
    def from_dict(path: str | os.PathLike[str]) -> Segmenter:
        """Loads a dictionary in jieba's format (``word freq [tag]`` a line; plain, gz, xz or zst).

        Args:
            path: the dictionary file, e.g. jieba's own ``dict.txt``.

        Raises:
            NotFoundError: the file does not exist.
            FormatError: a malformed line (the message names the file and line).

        Example:
            >>> seg = kneser.Segmenter.from_dict("dict.txt")
        """
    @staticmethod
    def jieba_default() -> Segmenter:
        """Loads the ``dict.txt`` of the installed jieba package (jieba itself is not imported).

        Raises:
            NotFoundError: jieba is not installed or has no ``dict.txt``.

        Example:
            >>> kneser.Segmenter.jieba_default().lcut("北京大学")
            ['北京大学']
        """
    def cut(
        self,
        sentence: str | bytes,
        cut_all: bool = False,
        HMM: bool = False,
        use_paddle: bool = False,
    ) -> Iterator[str]:
        """An iterator over the words of ``sentence``, as ``jieba.cut(sentence, HMM=False)``, or
        with ``cut_all=True`` as ``jieba.cut(sentence, cut_all=True)`` (overlapping words; like
        jieba, full mode yields empty strings around whitespace outside Chinese runs). In the
        default mode the words concatenate back to ``sentence``.

        Args:
            sentence: a str, or bytes decoded as jieba does (UTF-8, else GBK); a lone
                surrogate raises FormatError, a ValueError.
            cut_all: full mode instead of the default (accurate) mode.
            HMM: must be false (kneser has no HMM) unless ``cut_all``.
            use_paddle: ignored, as jieba ignores it without paddle installed.

        Example:
            >>> list(seg.cut("我来到北京清华大学"))
            ['我', '来到', '北京', '清华大学']
        """
    def lcut(
        self,
        sentence: str | bytes,
        cut_all: bool = False,
        HMM: bool = False,
        use_paddle: bool = False,
    ) -> list[str]:
        """The words of ``sentence`` as a list: ``jieba.lcut`` (arguments as ``cut``).

        Example:
            >>> seg.lcut("我来到北京清华大学")
            ['我', '来到', '北京', '清华大学']
        """
    def cut_for_search(self, sentence: str | bytes, HMM: bool = False) -> Iterator[str]:
        """An iterator over jieba's ``cut_for_search(sentence, HMM=False)``: each accurate-mode
        word, preceded by its 2- and 3-character pieces that are dictionary words.

        Example:
            >>> list(seg.cut_for_search("中华人民共和国"))
            ['中华', '华人', '人民', '共和', '共和国', '中华人民共和国']
        """
    def lcut_for_search(self, sentence: str | bytes, HMM: bool = False) -> list[str]:
        """``cut_for_search`` as a list (jieba's ``lcut_for_search``)."""
    def tokenize(
        self, unicode_sentence: str, mode: str = "default", HMM: bool = False
    ) -> Iterator[tuple[str, int, int]]:
        """An iterator over ``(word, start, end)`` as jieba's ``tokenize(sentence, mode,
        HMM=False)``: offsets in characters; ``mode="search"`` (any mode but ``"default"``, as
        in jieba) adds the dictionary words of 2 and 3 characters inside longer words.

        Raises:
            ValueError: ``unicode_sentence`` is not a str (jieba's own check).

        Example:
            >>> list(seg.tokenize("永和服装饰品"))
            [('永和', 0, 2), ('服装', 2, 4), ('饰品', 4, 6)]
        """
    def cut_batch(self, texts: Iterable[str], cut_all: bool = False) -> list[list[str]]:
        """Cuts many texts in parallel (all cores, the GIL released); results in input order.

        Args:
            texts: an iterable of str.
            cut_all: full mode instead of the default mode.

        Example:
            >>> seg.cut_batch(["北京大学", "天安门"])
            [['北京大学'], ['天安门']]
        """
    def cut_file(
        self,
        input: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        output: str | os.PathLike[str],
        cut_all: bool = False,
        delimiter: str = " ",
        drop_whitespace: bool = False,
    ) -> tuple[int, int]:
        """Segments text files line by line into ``output``, in parallel batches with the GIL
        released: each line's words joined by ``delimiter``, one output line per input line
        (a ``\\r\\n`` line ending becomes ``\\n``). The output file appears only when complete.

        Args:
            input: a path or a list of paths (plain, gz, xz or zst); ``"-"`` is stdin.
            output: the output path; ``"-"`` is stdout.
            cut_all: full mode instead of the default mode.
            delimiter: written between words (a space by default).
            drop_whitespace: leave out words that are empty or only whitespace (jieba yields
                spaces as words, and empty strings in full mode).

        Returns:
            ``(lines, words)``: the number of lines read and of words written.

        Raises:
            FormatError: invalid UTF-8 (the message names the file and line).

        Example:
            >>> seg.cut_file("corpus.txt", "corpus.seg.txt")
            (117648, 4381210)
        """
    def add_word(
        self, word: str | bytes, freq: int | str | float | None = None, tag: str | None = None
    ) -> int:
        """Adds ``word`` as jieba's ``add_word`` does: its frequency is set to ``int(freq)`` (or,
        when None, to ``suggest_freq(word)``, just enough for it to be cut whole) and the total
        grows by it.

        Args:
            word: a non-empty word (str, or bytes decoded as jieba does).
            freq: None, or anything ``int()`` takes (an int, "12", 3.0) that is not negative.
            tag: a part-of-speech tag; accepted and not kept (kneser has no POS tagging).

        Returns:
            The frequency used (jieba returns None).

        Example:
            >>> seg.add_word("石墨烯")
            4
        """
    def del_word(self, word: str | bytes) -> None:
        """Deletes ``word`` (sets its frequency to 0, as jieba's ``del_word`` does).

        Args:
            word: the word (str or bytes).
        """
    def load_userdict(self, f: str | bytes | os.PathLike[str] | Iterable[str | bytes]) -> None:
        """Adds a user dictionary in jieba's ``load_userdict`` format: ``word [freq] [tag]`` a line
        (words may contain spaces; a missing frequency is suggested; tags are accepted and not
        kept). All lines are added, or none when one is malformed.

        Args:
            f: a path (plain, gz, xz or zst), or a file object as jieba takes it (lines of
                bytes, decoded as UTF-8 with byte-order marks dropped, or of str).

        Raises:
            FormatError: a malformed line (the message names the file and line).
        """
    def suggest_freq(self, segment: str | bytes | Iterable[str | bytes], tune: bool = False) -> int:
        """The frequency jieba's ``suggest_freq`` gives: for a word (a str), just enough for it to
        be cut whole; for a tuple (or any iterable) of pieces, low enough for their
        concatenation to be cut into those pieces.

        Args:
            segment: a word, or the pieces it should be split into (str or bytes each).
            tune: also set the word's frequency to the suggestion (``add_word``), as jieba.

        Example:
            >>> seg.suggest_freq(("中", "将"), tune=True)
            494
        """
    def word_freq(self, word: str | bytes) -> int | None:
        """jieba's ``FREQ.get(word)``: the frequency of ``word``, 0 for a prefix of a word (or a
        deleted word), None otherwise.

        Args:
            word: the word (str or bytes).
        """
    def tokenizer(
        self,
        lowercase: bool = False,
        stopwords: str | os.PathLike[str] | Iterable[str] | None = None,
        cut_all: bool = False,
    ) -> Tokenizer:
        """A ``Tokenizer`` whose tokens are this segmenter's words (without the whitespace ones
        jieba keeps), with the Tokenizer's lowercasing and stopwords. It uses the dictionary as
        it is now: later ``add_word`` calls do not change it.

        Args:
            lowercase: lowercase each token.
            stopwords: None, "en" or "zh" (built-in lists), a path, or an iterable of str.
            cut_all: full mode instead of the default mode.

        Example:
            >>> seg.tokenizer(stopwords="zh").tokenize("我的 朋友")
            ['朋友']
        """
    @property
    def total(self) -> int:
        """The sum of every frequency given so far (jieba's ``total``)."""

# --- vocabulary (rust/kneser-py/src/vocab.rs) ---------------------------------------------------

_Path = str | os.PathLike[str]

@final
class Vocab:
    """A vocabulary: token <-> id maps with counts, and the tokenizer that splits text for it.

    Ids are assigned specials first (default `<unk>`, `<s>`, `</s>`, then `<pad>` if asked),
    then by count descending, ties by the token's UTF-8 bytes ascending.

    Example:
        >>> v = kneser.Vocab.build(texts=["b a b", "c b a"])
        >>> v.tokens()
        ['<unk>', '<s>', '</s>', 'b', 'a', 'c']
        >>> v.encode("a b zz")
        array([4, 3, 0], dtype=uint32)
    """

    @staticmethod
    def build(
        source: _Path | None = None,
        tokenizer: Tokenizer | None = None,
        min_count: int = 1,
        max_size: int | None = None,
        specials: Sequence[str] | None = None,
        pad: bool = False,
        *,
        files: _Path | Iterable[_Path] | None = None,
        texts: Iterable[str] | None = None,
    ) -> Vocab:
        """Builds a vocabulary by counting the tokens of a corpus in parallel.

        The corpus is named once: a positional path, `files=` or `texts=`, never guessed from
        its type.

        Args:
            source: one path (str or os.PathLike; plain, .gz, .xz or .zst) or a table
                (pyarrow.Table, datasets.Dataset: its "text" column, or its only column).
                Lists, tuples, iterators and bytes are refused (TypeError): pass them as
                files= or texts=.
            tokenizer: a `kneser.Tokenizer` (default: whitespace, lmplz's rule).
            min_count: tokens seen fewer times are left out.
            max_size: the largest vocabulary size, specials included (None: no limit).
            specials: the special tokens, ids 0, 1, ... (default `<unk>`, `<s>`, `</s>`).
            pad: append `<pad>` to the default specials.
            files: a path or an iterable of paths, counted in order.
            texts: an iterable of str (one text per item, e.g. a list or a generator), pulled
                in batches.

        Raises:
            ArgumentError: an empty corpus, min_count above every count, a bad option.
            FormatError: invalid UTF-8 (naming file and line).
            TypeError: a source that is not one path, or a corpus given twice.

        Example:
            >>> v = kneser.Vocab.build("corpus.txt", min_count=2, max_size=50_000)
            >>> v = kneser.Vocab.build(texts=["b a b", "c b a"])
        """
    @staticmethod
    def load(
        path: _Path, tokenizer: Tokenizer | None = None, specials: Sequence[str] | None = None
    ) -> Vocab:
        """Loads a vocabulary saved by `save` (JSON for names ending in .json, else text).

        Args:
            path: the file.
            tokenizer: the `kneser.Tokenizer` to encode with (default: whitespace).
            specials: for text files, the tokens that are special when they lead the file
                (default `<unk>`, `<s>`, `</s>`, `<pad>`); JSON files store their own.

        Raises:
            FormatError: a malformed line, a duplicate token or an empty file (naming the line).

        Example:
            >>> v = kneser.Vocab.load("vocab.txt")
        """
    def save(self, path: _Path) -> None:
        """Saves the vocabulary: JSON for names ending in .json, else `token TAB count` lines.

        Args:
            path: the file, written atomically.

        Example:
            >>> v.save("vocab.json")
        """
    def save_limit_vocab(self, path: _Path) -> None:
        """Writes the ordinary tokens one per line (specials omitted), the word list that
        `kneser build --limit_vocab_file` and KenLM's lmplz read.

        Args:
            path: the file, written atomically.

        Example:
            >>> v.save_limit_vocab("limit.txt")
        """
    def __len__(self) -> int: ...
    def __contains__(self, key: object, /) -> bool: ...
    def token_to_id(self, token: str) -> int | None:
        """The id of `token`, or None if it is not in the vocabulary.

        Example:
            >>> v.token_to_id("<unk>")
            0
        """
    def id_to_token(self, id: int) -> str | None:
        """The token of `id`, or None if `id` is out of range.

        Example:
            >>> v.id_to_token(0)
            '<unk>'
        """
    def count(self, token: str) -> int | None:
        """How often `token` occurred in the counted text, or None if it is not in the vocabulary.

        Example:
            >>> v.count("the")
            1042
        """
    def tokens(self) -> list[str]:
        """The tokens in id order."""
    def counts(self) -> npt.NDArray[np.uint64]:
        """The counts in id order, as a numpy uint64 array."""
    def get_vocab(self) -> dict[str, int]:
        """The mapping token -> id as a dict."""
    @property
    def specials(self) -> list[str]:
        """The special tokens, in id order."""
    @property
    def unk_id(self) -> int | None:
        """The id of `<unk>`, or None if it is not among the specials."""
    def encode(self, text: str, unk: Literal["unk", "raise"] = "unk") -> npt.NDArray[np.uint32]:
        """The ids of the tokens of `text`.

        Args:
            text: the text, split by the vocabulary's tokenizer.
            unk: "unk" maps unknown tokens to the `<unk>` id; "raise" raises ArgumentError.

        Returns:
            a numpy uint32 array.

        Example:
            >>> v.encode("a b zz")
            array([4, 3, 0], dtype=uint32)
        """
    @overload
    def encode_batch(
        self,
        texts: Sequence[str],
        unk: Literal["unk", "raise"] = "unk",
        as_list: Literal[False] = False,
    ) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
        """The ids of many texts, encoded in parallel with the GIL released.

        Args:
            texts: a sequence of str.
            unk: "unk" or "raise" (the error names the text's index).
            as_list: return a list of uint32 arrays, one per text, instead.

        Returns:
            `(ids, offsets)`: all ids as one uint32 array and int64 offsets of length
            `len(texts) + 1`, text `i` having `ids[offsets[i]:offsets[i + 1]]`.

        Example:
            >>> ids, offsets = v.encode_batch(["a b", "", "zz"])
            >>> ids, offsets
            (array([4, 3, 0], dtype=uint32), array([0, 2, 2, 3]))
        """
    @overload
    def encode_batch(
        self, texts: Sequence[str], unk: Literal["unk", "raise"] = "unk", *, as_list: Literal[True]
    ) -> list[npt.NDArray[np.uint32]]: ...
    def to_tokenizers(self) -> Any:
        """This vocabulary as a huggingface ``tokenizers.Tokenizer`` (WordLevel model, the same
        ids and unknown token, a pre-tokenizer splitting on lmplz's whitespace); needs the
        ``tokenizers`` extra."""
    def save_tokenizer_json(self, path: _Path) -> None:
        """Writes ``to_tokenizers()`` as a ``tokenizer.json`` (atomically)."""
    def decode(self, ids: Iterable[int] | npt.NDArray[np.integer[Any]]) -> str:
        """The tokens of `ids` joined by single spaces.

        Args:
            ids: a 1-D numpy array of an integer dtype, or a sequence of ints (Python or numpy
                integers); never wrapped or truncated.

        Raises:
            TypeError: ids that are not integers (floats, bools, strings), or not a sequence.
            ValueError: an array of more than one dimension.
            OverflowError: an id below 0 or above 4294967295 (uint32, the id type).
            ArgumentError: an id not in the vocabulary.

        Example:
            >>> v.decode([4, 3, 0])
            'a b <unk>'
        """

def encode_corpus(
    source: _Path | None = None,
    vocab: Vocab | None = None,
    out_dir: _Path | None = None,
    dtype: str | None = None,  # "auto", "uint16" or "uint32"; None: ENCODE_DEFAULTS'
    format: str | None = None,  # "npy" or "bin"
    shard_tokens: int | None = None,
    eod: bool | str = ...,
    unk: Literal["unk", "raise"] = "unk",
    progress: bool = False,
    prefix: str | None = None,
    *,
    files: _Path | Iterable[_Path] | None = None,
    texts: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Encodes a corpus into token-id shards for training loaders, with an `index.json`.

    One line (or one item of `texts`) is one document; documents without tokens are skipped;
    each is followed by the end-of-document id. Shards hold exactly `shard_tokens` ids (the
    last fewer). The corpus is named once: a positional path, `files=` or `texts=`.

    Args:
        source: one path (plain, .gz, .xz or .zst) or a table (pyarrow.Table,
            datasets.Dataset: its "text" column, or its only column); lists, tuples, iterators
            and bytes are refused (TypeError): pass them as files= or texts=.
        vocab: the `kneser.Vocab` (and its tokenizer) to encode with (required).
        out_dir: the output directory, created if missing (required).
        dtype: "auto" (uint16 when the vocabulary fits, else uint32), "uint16" or "uint32".
        format: "npy" (numpy files) or "bin" (raw little-endian ids, as nanoGPT reads).
        shard_tokens: ids per shard.
        eod: True for `</s>`, a token name, or False for no end-of-document id.
        unk: "unk" or "raise" (a FormatError naming file and line).
        progress: print progress on stderr.
        prefix: shard files are named `{prefix}_000000.{format}`, ...
        files: a path or an iterable of paths, encoded in order.
        texts: an iterable of str, one document per item (the index names them `<texts>`).

    Returns:
        the index (a dict, as written to `out_dir/index.json`).

    Example:
        >>> index = kneser.encode_corpus("train.txt", vocab, "shards", format="bin")
        >>> index["tokens"], [s["file"] for s in index["shards"]]
    """

@final
class ShardSink:
    """The core's shard writer, fed with ids encoded elsewhere (``kneser.encode_corpus`` with a
    huggingface tokenizer): the same files, dtype rule, atomic writes and ``index.json``."""

    def __new__(
        cls,
        out_dir: _Path,
        vocab_size: int,
        *,
        dtype: str,  # "auto", "uint16" or "uint32"
        format: str,  # "npy" or "bin"
        shard_tokens: int,
        progress: bool,
        prefix: str,
        eod_token: str | None = None,
        eod_id: int | None = None,
        sources: list[str] = ...,
        unk_id: int | None = None,
    ) -> ShardSink: ...
    def write(
        self,
        ids: npt.NDArray[np.uint32],
        doc_ends: npt.NDArray[np.int64],
        empty_lines: int = 0,
        source_index: int = 0,
    ) -> None:
        """Appends one batch: ids of documents back to back, the offset past each document."""
    def write_encodings(
        self,
        encodings: Iterable[Any],
        bos: int | None = None,
        eos: int | None = None,
        source_index: int = 0,
    ) -> None:
        """Appends one batch of huggingface ``Encoding`` objects (``encode_batch``'s result):
        each one's ``ids`` copied once into the batch, ``bos``/``eos`` around them; one
        without ids counts as an empty line."""
    def finish(self) -> dict[str, Any]:
        """Closes the last shard and writes ``index.json``; returns the index."""

def resolve_corpus(
    api: str, source: Any = None, files: Any = None, texts: Any = None
) -> tuple[str, Any]:
    """The corpus rule of the native APIs for Python wrappers: ``("files", [paths])`` or
    ``("texts", iterable)``."""

# The partitioned merge of count files (used by kneser.ray).

def merge_vocabularies(
    shards: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    temp_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Merges the vocabularies of count files (shards of one corpus, in corpus order) into a
    vocabulary file: a count file with the merged vocabulary, the total tokens and no records.

    Args:
        shards: count files written by kneser.count, in corpus order.
        output: the vocabulary file to write (atomically).
        temp_dir: directory for temp files (default: the system's).

    Returns:
        dict with order, tokens, words (merged vocabulary size) and records (0).

    Example:
        >>> kneser._kneser.merge_vocabularies(["a.counts", "b.counts"], "vocab.counts")["words"]
    """

def last_word_histogram(
    shard: str | os.PathLike[str], vocabulary: str | os.PathLike[str]
) -> npt.NDArray[np.uint64]:
    """The number of windows of a count file per merged id of their last word.

    Args:
        shard: a count file that took part in the vocabulary pass.
        vocabulary: the vocabulary file written by merge_vocabularies.

    Returns:
        a uint64 numpy array as long as the merged vocabulary.

    Example:
        >>> kneser._kneser.last_word_histogram("a.counts", "vocab.counts").sum()
    """

def merge_partition(
    shards: Sequence[str | os.PathLike[str]],
    vocabulary: str | os.PathLike[str],
    lo: int,
    hi: int,
    output: str | os.PathLike[str],
    *,
    memory: int | str | None = None,
    temp_dir: str | os.PathLike[str] | None = None,
    threads: int = 0,
) -> dict[str, Any]:
    """Writes one partition of the merged counts: the windows of all shards whose last word's
    merged id is in [lo, hi), mapped onto the merged vocabulary, combined and sorted in suffix
    order, as a count file with the merged vocabulary. Partitions of consecutive ranges, given
    in range order to estimate(None, ..., from_counts=partitions), make the model of the
    concatenated shards.

    Args:
        shards: the count files given to merge_vocabularies, in the same order.
        vocabulary: the vocabulary file.
        lo: the first merged id of the range.
        hi: one past the last merged id of the range.
        output: the partition file to write (atomically).
        memory: sort-buffer budget, bytes or lmplz's syntax ("500M", "2G").
        temp_dir: directory for temp files (default: the system's).
        threads: sorting threads, 0 for all cores.

    Returns:
        dict with order, tokens (the corpus's in the partition with lo == 0, else 0), words and
        records.

    Example:
        >>> kneser._kneser.merge_partition(["a.counts"], "vocab.counts", 0, 500, "p0.counts")
    """

# The partitioned estimator (used by kneser.ray): one function per Ray task; the state between
# tasks lives in ``workdir``. ``bounds``: the P + 1 partition bounds (merged ids of the last
# word); ``options``: kneser.estimate's options as a dict (memory, temp_dir,
# discount_fallback, prune, limit_vocab, interpolate_unigrams, vocab_pad, threads, verbose,
# verbose_header, collapse_values, renumber).

def partitioned_adjust(
    workdir: str | os.PathLike[str],
    bounds: list[int],
    p: int,
    partition: str | os.PathLike[str],
    stream_ends: bool,
    order: int,
    options: dict[str, Any] | None = None,
) -> dict[str, int]:
    """Task estimate/adjust of partition p: adjusted counts, local count-of-counts and unigram
    sums. ``stream_ends``: p is the last partition holding any window. Returns temp_bytes."""

def partitioned_reduce(
    workdir: str | os.PathLike[str],
    bounds: list[int],
    order: int,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Task estimate/reduce: summed count-of-counts -> discounts. Returns counts,
    unpruned_counts, discounts, fallback_orders, tokens and types."""

def partitioned_contexts(
    workdir: str | os.PathLike[str],
    bounds: list[int],
    p: int,
    order: int,
    options: dict[str, Any] | None = None,
) -> dict[str, int]:
    """Task estimate/contexts of partition p: context sort, partial sums sent to the owners
    (exchange 1). Returns temp_bytes."""

def partitioned_gamma(
    workdir: str | os.PathLike[str],
    bounds: list[int],
    p: int,
    order: int,
    options: dict[str, Any] | None = None,
) -> dict[str, int]:
    """Task estimate/gamma of partition p: denominators and gammas of the contexts it owns,
    sent back (exchange 2), and its backoffs. Returns temp_bytes."""

def partitioned_interpolate(
    workdir: str | os.PathLike[str],
    bounds: list[int],
    p: int,
    partition: str | os.PathLike[str],
    order: int,
    options: dict[str, Any] | None = None,
) -> dict[str, int]:
    """Task estimate/interpolate of partition p: probabilities, interpolation, the ARPA
    pieces. Returns temp_bytes."""

def partitioned_concat(
    workdir: str | os.PathLike[str],
    bounds: list[int],
    order: int,
    partitions: list[str | os.PathLike[str]],
    *,
    arpa: str | os.PathLike[str] | None = None,
    binary: str | os.PathLike[str] | None = None,
    binary_layout: str = "probing",
    quantize: int | None = None,
    backoff_bits: int | None = None,
    array_bits: int | None = None,
    include_vocab: bool = True,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Task estimate/concat: the header and the pieces in order to ``arpa`` or straight to a
    KenLM binary file ``binary``, renamed into place when complete. Returns path and
    temp_bytes (the model file's size)."""

@final
class SentencePiece(Tokenizer):
    """A SentencePiece model (``.model``): pieces equal to sentencepiece's ``encode_as_pieces``;
    a ``Tokenizer`` usable wherever one is taken."""

    def __new__(cls, path: str | os.PathLike[str]) -> SentencePiece: ...
    def encode_as_pieces(self, text: str) -> list[str]: ...
    def encode_as_ids(self, text: str) -> list[int]: ...
    def normalize(self, text: str) -> str: ...
    def piece_to_id(self, piece: str) -> int: ...
    def id_to_piece(self, id: int) -> str: ...
    @property
    def model_type(self) -> str: ...
    def __len__(self) -> int: ...

@final
class CcnetScorer:
    """CCNet's per-language document scorer over an ``lm_dir`` and an optional cutoff.csv."""

    def __new__(
        cls,
        lm_dir: str | os.PathLike[str],
        cutoff_csv: str | os.PathLike[str] | None = None,
        percentile_head: float | None = None,
        percentile_tail: float | None = None,
    ) -> CcnetScorer: ...
    @property
    def languages(self) -> list[str]: ...
    def score_batch(
        self,
        texts: Iterable[str | bytes | None],
        languages: Iterable[str | None],
        dedup: bool = False,
    ) -> dict[str, Any]: ...
    def jsonl(
        self,
        field: str = ...,
        language_field: str = ...,
        keep: Sequence[str] = ...,
        dedup: bool = False,
        text: bool = False,
        on_error: str = "skip",
    ) -> CcnetJsonl: ...

@final
class CcnetJsonl:
    """CCNet's JSON-lines loop over a CcnetScorer; ``read(path)`` yields written lines."""

    def read(
        self, path: str | os.PathLike[str], batch_size: int = ...
    ) -> CcnetBatches: ...  # DEFAULT_BATCH_SIZE
    @property
    def report(self) -> dict[str, Any]: ...

@final
class CcnetBatches:
    """The batches of written lines (bytes) of one input of a CcnetJsonl job."""

    def __iter__(self) -> CcnetBatches: ...
    def __next__(self) -> bytes: ...
