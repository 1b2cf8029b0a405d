"""CCNet-style preprocessing in one streaming pass: read documents, normalize, tokenize, score
with a kneser language model, bucket by perplexity, deduplicate, write the kept documents as
JSON lines and, optionally, token-id shards for training.

The whole stage loop (normalization, dedup, tokenization, scoring, calibration, buckets, the
histogram and the written bytes) is one core job, ``kneser::pipeline`` (``_kneser.PipelineJob``),
fed one batch per call with the GIL released; this module builds the job from the options, hands
it the inputs, writes what it returns and presents the report. A Python tokenizer (any object
with ``tokenize_batch`` that is not a kneser one) is run here on the job's lines and its tokens
handed back to the same job. Memory stays flat in the corpus size: one batch of documents at a
time, the first ``calibration`` documents when bucket cutoffs are estimated from percentiles,
8 bytes per distinct document (or line) for exact deduplication, and a fixed-size histogram.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from kneser import _arrow, _kneser
from kneser._errors import ArgumentError

BUCKETS = ("head", "middle", "tail")
# log10(perplexity) histogram: fixed bins, so memory does not grow with the corpus; the core
# counts them (kneser::pipeline::histogram_bin), these edges are for drawing.
HIST_EDGES = np.asarray(_kneser.pipeline_histogram_edges())


@dataclass
class Report:
    """What a pipeline run did; ``str(report)`` is a readable summary."""

    documents: int = 0
    kept: int = 0
    duplicates: int = 0
    duplicate_lines: int = 0
    empty: int = 0
    malformed: list[tuple[str, int, str]] = field(default_factory=list)
    buckets: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BUCKETS, 0))
    kept_per_bucket: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BUCKETS, 0))
    unscored: int = 0
    tokens: int = 0
    kept_tokens: int = 0
    cutoffs: tuple[float, float] = (math.nan, math.nan)
    seconds: float = 0.0
    output: str | None = None
    shards: dict[str, Any] | None = None
    histogram: str | None = None
    #: The perplexity histogram drawn as text (when ``histogram=`` was asked without matplotlib).
    histogram_text: str | None = None
    histogram_counts: dict[str, list[int]] = field(
        default_factory=lambda: {b: [0] * (len(HIST_EDGES) - 1) for b in BUCKETS}
    )

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d.pop("histogram_counts")
        d["malformed"] = [list(m) for m in self.malformed]
        return d

    def __str__(self) -> str:
        rate = self.documents / self.seconds if self.seconds else 0.0
        lines = [
            f"documents in      {self.documents:>10,}   ({rate:,.0f} docs/s, {self.seconds:.2f} s)",
            f"malformed         {len(self.malformed):>10,}",
            f"empty             {self.empty:>10,}",
            f"duplicates        {self.duplicates:>10,}   (+{self.duplicate_lines:,} lines)",
        ]
        if "all" in self.buckets:
            lines.append(f"unscored          {self.unscored:>10,}   (no model for the language)")
            lines.append("perplexity cutoffs  per language, from cutoff.csv")
        else:
            lines.append(
                f"perplexity cutoffs  head < {self.cutoffs[0]:.1f} <= middle < "
                f"{self.cutoffs[1]:.1f} <= tail"
            )
        for b in self.buckets:
            lines.append(f"  {b:<8} in {self.buckets[b]:>8,}   kept {self.kept_per_bucket[b]:>8,}")
        lines.append(f"documents out     {self.kept:>10,}")
        lines.append(f"tokens in / out   {self.tokens:,} / {self.kept_tokens:,}")
        if self.output:
            lines.append(f"kept documents -> {self.output}")
        if self.shards:
            lines.append(
                f"token-id shards -> {self.shards['dir']} ({self.shards['tokens']:,} ids, "
                f"{len(self.shards['shards'])} shard(s), {self.shards['dtype']})"
            )
        if self.histogram:
            lines.append(f"histogram        -> {self.histogram}")
        for path, number, message in self.malformed[:5]:
            lines.append(f"  malformed {path}:{number}: {message}")
        if len(self.malformed) > 5:
            lines.append(f"  ... and {len(self.malformed) - 5} more malformed lines")
        return "\n".join(lines)


class Pipeline:
    """Perplexity filtering of documents, as CCNet and RedPajama do.

    Args:
        model: a ``kneser.Model`` or a path to an ARPA or binary model.
        normalizer: a ``kneser.Normalizer``; default ``Normalizer.ccnet()``; None leaves text.
        tokenizer: a ``kneser.Tokenizer`` (or ``SentencePiece``) applied in the core before
            scoring, or any object with ``tokenize_batch(lines) -> list[list[str]]`` (run in
            Python on each batch's lines, its tokens handed back to the core job); default
            none (the normalized lines are scored as they are).
        field: the JSON field holding the text.
        percentiles: bucket cutoffs as percentiles of perplexity (CCNet's head/middle/tail are
            30 and 60), estimated from the first ``calibration`` documents.
        thresholds: fixed perplexity cutoffs instead of percentiles.
        calibration: documents used to estimate the percentile cutoffs.
        dedup: "document" (exact, on ``Normalizer.ccnet_dedup()`` text), "line" (drop lines seen
            before, then documents left empty) or None.
        keep: buckets to write.
        on_error: "skip" (count and report malformed lines) or "raise" (FormatError).
        batch_size: documents per batch.

    Example:
        >>> report = kneser.Pipeline("lm.bin").run(["docs.jsonl.gz"], "kept.jsonl")
        >>> print(report)
    """

    def __init__(
        self,
        model: Any,
        *,
        normalizer: Any = "ccnet",
        tokenizer: Any = None,
        field: str = "text",
        percentiles: Sequence[float] = _kneser.DEFAULT_PERCENTILES,
        thresholds: Sequence[float] | None = None,
        calibration: int = _kneser.DEFAULT_CALIBRATION,
        dedup: str | None = "document",
        keep: Iterable[str] = BUCKETS,
        on_error: str = "skip",
        batch_size: int = _kneser.DEFAULT_BATCH_SIZE,
    ) -> None:
        self.model = (
            _kneser.Model(os.fspath(model)) if isinstance(model, (str, os.PathLike)) else model
        )
        self.normalizer = _kneser.Normalizer.ccnet() if normalizer == "ccnet" else normalizer
        if self.normalizer is not None and not isinstance(self.normalizer, _kneser.Normalizer):
            raise ArgumentError("normalizer must be a kneser.Normalizer, 'ccnet' or None")
        self.tokenizer = tokenizer
        self.field = field
        if thresholds is not None and len(thresholds) != 2:
            raise ArgumentError("thresholds must be two increasing perplexities")
        if len(percentiles) != 2:
            raise ArgumentError("percentiles must be two increasing values in [0, 100]")
        self.percentiles = (float(percentiles[0]), float(percentiles[1]))
        self.thresholds = (
            (float(thresholds[0]), float(thresholds[1])) if thresholds is not None else None
        )
        self.calibration = max(1, calibration)
        self.dedup = dedup
        self.keep = set(keep)
        if on_error not in ("skip", "raise"):
            raise ArgumentError("on_error must be 'skip' or 'raise'")
        self.on_error = on_error
        self.batch_size = max(1, batch_size)
        self._job()  # the core checks the options (cutoffs, percentiles, dedup, keep)

    @classmethod
    def ccnet(
        cls,
        lm_dir: str | os.PathLike[str],
        cutoff_csv: str | os.PathLike[str] | None = None,
        field: str = "raw_content",
        percentile_head: float = _kneser.DEFAULT_PERCENTILES[0],
        percentile_tail: float = _kneser.DEFAULT_PERCENTILES[1],
        *,
        language_field: str = "language",
        keep: Iterable[str] | None = None,
        dedup: str | None = None,
        on_error: str = "skip",
        batch_size: int = _kneser.DEFAULT_BATCH_SIZE,
    ) -> CcnetPipeline:
        """CCNet's perplexity filter, exactly (``cc_net/mine.py``'s sp, lm and pp_bucket
        steps): per-language SentencePiece and KenLM models from ``lm_dir``
        (``{lang}.sp.model`` + ``{lang}.arpa.bin``, or an ARPA or kneser binary model), the
        document's ``field`` normalized as a whole, its pieces scored line by line, CCNet's
        rounded ``perplexity`` and ``bucket`` (head / middle / tail from ``cutoff_csv`` at
        ``percentile_head`` / ``percentile_tail``; ``all`` for a language without cutoffs).
        Documents whose language has no model pass through unscored (bucket ``all``) and are
        counted in ``report.unscored``. All of it runs in the Rust core, one call per batch.

        Args:
            lm_dir: the model directory, laid out as CCNet's ``data/lm_sp``.
            cutoff_csv: CCNet's ``cutoff.csv`` (None: every bucket ``all``).
            field: the text field (CCNet: ``raw_content``).
            percentile_head, percentile_tail: the cutoff rows (CCNet's defaults 30 and 60).
            language_field: the field naming the document's language.
            keep: buckets to write (default all four).
            dedup: "document" drops exact duplicates (``normalize_for_dedup`` text) or None.
            on_error: "skip" (count and report bad lines) or "raise".
            batch_size: documents per core call.

        Example:
            >>> kneser.Pipeline.ccnet("data/lm_sp", "cutoff.csv").run("docs.json.gz", "out.jsonl")
        """
        return CcnetPipeline(
            lm_dir,
            cutoff_csv,
            field=field,
            percentile_head=percentile_head,
            percentile_tail=percentile_tail,
            language_field=language_field,
            keep=keep,
            dedup=dedup,
            on_error=on_error,
            batch_size=batch_size,
        )

    # -- the core job --------------------------------------------------------------------

    def _core_tokenizer(self) -> bool:
        """A kneser Tokenizer (or SentencePiece) whose tokenize_batch is the core's."""
        t = self.tokenizer
        return isinstance(t, _kneser.Tokenizer) and (
            type(t).tokenize_batch is _kneser.Tokenizer.tokenize_batch
        )

    def _job(self, shard_text: str = "none") -> Any:
        """The core job of a run (``kneser::pipeline``), built from the options; the core
        checks them."""
        core = self._core_tokenizer()
        return _kneser.PipelineJob(
            self.model,
            normalizer=self.normalizer,
            tokenizer=self.tokenizer if core else None,
            external_tokens=self.tokenizer is not None and not core,
            dedup=self.dedup,
            percentiles=self.percentiles,
            thresholds=self.thresholds,
            calibration=self.calibration,
            keep=sorted(self.keep),
            shard_text=shard_text,
        )

    def _batches(self, job: Any, sources: Sequence[Any], fmt: str) -> Iterator[Any]:
        """Each input through ``job``, batch by batch: files by the core's document reader
        (JSON lines or text lines, any compression), Parquet files and Arrow tables as their
        rows' texts and JSON lines (``kneser._arrow``, the one converter)."""
        for path in sources:
            if _arrow.is_arrow_source(path):
                rows = _arrow.arrow_rows(path, self.batch_size, self.field)
            else:
                name = os.fspath(path)
                if not (fmt == "parquet" or (fmt == "auto" and _kneser.is_parquet(name))):
                    text = not (fmt == "jsonl" or (fmt == "auto" and ".json" in Path(name).name))
                    yield from job.read(
                        name,
                        field=self.field,
                        text=text,
                        on_error=self.on_error,
                        batch_size=self.batch_size,
                    )
                    continue
                rows = _arrow.parquet_rows(name, self.batch_size, self.field)
            for texts, lines in _arrow.documents(rows, self.field):
                yield job.documents(texts, lines)

    # -- running ---------------------------------------------------------------------------

    def run(
        self,
        inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        output: str | os.PathLike[str],
        *,
        format: str = "auto",
        shards: str | os.PathLike[str] | None = None,
        vocab: Any = None,
        histogram: str | os.PathLike[str] | None = None,
        progress: bool = False,
        shard_tokenizer: Any = None,
        shard_eos: Any = None,
        shard_bos: Any = None,
    ) -> Report:
        """Filters ``inputs`` into ``output`` (JSON lines with ``perplexity`` and ``bucket``).

        Args:
            inputs: files of JSON lines (``format="jsonl"``) or plain text, one document a
                line (``format="text"``); "auto" decides by ``.json`` in the name. Plain, .gz,
                .xz or .zst. Parquet files (``format="parquet"``, or "auto" by the content's
                ``PAR1`` magic; the text column is ``field``), a ``pyarrow.Table`` or a
                ``datasets.Dataset`` are read batch by batch (the ``parquet`` extra).
            output: the file of kept documents (written atomically): JSON lines, or Parquet
                when the name ends in ``.parquet`` (the documents' fields plus ``perplexity``
                and ``bucket``, one row group per 10,000 documents).
            shards: a directory for token-id shards of the kept documents (``encode_corpus``).
            vocab: the ``kneser.Vocab`` for the shards (default: built from the kept text).
            shard_tokenizer: instead of a Vocab, a huggingface ``tokenizers.Tokenizer`` or a
                ``tokenizer.json`` path: the shards then hold its ids of each kept document's
                original text (``encode_corpus(..., tokenizer=...)``), with ``shard_eos`` /
                ``shard_bos`` (a token or an id) around each.
            histogram: a PNG path for the perplexity histogram per bucket, written when
                matplotlib is installed (``report.histogram``); without it the histogram is
                drawn as text in ``report.histogram_text`` (:func:`terminal_histogram`).
            progress: print progress on stderr.

        Returns:
            a :class:`Report`.
        """
        start = time.perf_counter()
        single = isinstance(inputs, (str, os.PathLike)) or _arrow.is_arrow_source(inputs)
        sources: list[Any] = [inputs] if single else list(cast(Sequence[Any], inputs))
        out_path = Path(output)
        out_dir = out_path.parent if str(out_path.parent) else Path(".")
        shard_text = "none" if shards is None else "source" if shard_tokenizer else "tokens"
        job = self._job(shard_text)
        # The core's output layer: claimed before any work (refuses an input as output).
        paths = [os.fspath(p) for p in sources if not _arrow.is_arrow_source(p)]
        out = _kneser.OutputFile(os.fspath(output), paths)
        parquet_out = _arrow.ParquetSink(out) if out_path.suffix == ".parquet" else None
        # The kept documents for the shards: their JSON lines (a huggingface tokenizer encodes
        # the original text) or their tokenized lines (a Vocab), in a temp dir beside output.
        work = tempfile.TemporaryDirectory(dir=out_dir) if shards is not None else None
        shard_path = Path(work.name) / "kept.txt" if work is not None else None
        shard_out = None
        try:
            if shard_path is not None:
                shard_out = _kneser.OutputFile(os.fspath(shard_path), paths)

            def write(documents: bytes, shard: bytes) -> None:
                if parquet_out is not None:
                    parquet_out.add_lines(documents)
                elif documents:
                    out.write(documents)
                if shard_out is not None and shard:
                    shard_out.write(shard)

            for documents, shard, lines in self._batches(job, sources, format):
                if lines is not None:
                    # A Python tokenizer: its tokens go back to the same core job.
                    documents, shard = job.emit(self.tokenizer.tokenize_batch(lines))
                write(documents, shard)
                if progress:
                    _progress(job.report)
            write(*job.finish())
            if progress:
                print(file=sys.stderr)
            if parquet_out is not None:
                parquet_out.close()
            out.commit()
            report = _report(job.report)
            report.output = str(out_path)
            if shard_out is not None and shard_path is not None and shards is not None:
                shard_out.commit()
                if shard_tokenizer is not None:
                    report.shards = _encode_hf(
                        shard_path, self.field, Path(shards), shard_tokenizer, shard_eos, shard_bos
                    )
                else:
                    report.shards = self._encode(shard_path, Path(shards), vocab)
            if histogram is not None:
                report.histogram = _plot_histogram(report, Path(histogram))
                if report.histogram is None:
                    report.histogram_text = terminal_histogram(report)
        finally:
            out.abort()
            if shard_out is not None:
                shard_out.abort()
            if work is not None:
                work.cleanup()
        report.seconds = time.perf_counter() - start
        return report

    def _encode(self, text: Path, shards: Path, vocab: Any) -> dict[str, Any] | None:
        if text.stat().st_size == 0:
            return None
        if vocab is None:
            vocab = _kneser.Vocab.build(str(text))
        index = _kneser.encode_corpus(str(text), vocab, str(shards))
        index["dir"] = str(shards)
        return index


_COUNTS = (
    "documents",
    "kept",
    "duplicates",
    "duplicate_lines",
    "empty",
    "buckets",
    "kept_per_bucket",
    "unscored",
    "tokens",
    "kept_tokens",
)


def _report(r: dict[str, Any]) -> Report:
    """A core job's counts (``PipelineJob.report`` or ``CcnetJsonl.report``) as a
    :class:`Report`."""
    report = Report(
        **{k: r[k] for k in _COUNTS if k in r}, malformed=[tuple(m) for m in r["malformed"]]
    )
    if r.get("cutoffs") is not None:
        report.cutoffs = (float(r["cutoffs"][0]), float(r["cutoffs"][1]))
    if "histogram" in r:
        report.histogram_counts = r["histogram"]
    return report


def _progress(r: dict[str, Any]) -> None:
    """The running counts of a core job on stderr."""
    print(
        f"\rkneser pipeline: {r['documents']:,} documents, {r['kept']:,} kept",
        end="",
        file=sys.stderr,
        flush=True,
    )


def _encode_hf(
    kept: Path, field: str, shards: Path, tokenizer: Any, eos: Any, bos: Any
) -> dict[str, Any]:
    """Shards of the kept documents' original ``field`` text (their JSON lines in ``kept``,
    read back by the core's document reader) through a huggingface tokenizer."""
    from . import encode_corpus

    def docs() -> Iterator[str]:
        for texts, _, _ in _kneser.read_documents(str(kept), field=field, on_error="raise"):
            yield from texts

    index = encode_corpus(texts=docs(), out_dir=shards, tokenizer=tokenizer, eos=eos, bos=bos)
    index["dir"] = str(shards)
    return index


CCNET_BUCKETS = (*BUCKETS, "all")


class CcnetPipeline:
    """CCNet's perplexity filter; made by :meth:`Pipeline.ccnet` (see there)."""

    def __init__(
        self,
        lm_dir: str | os.PathLike[str],
        cutoff_csv: str | os.PathLike[str] | None = None,
        *,
        field: str = "raw_content",
        percentile_head: float = _kneser.DEFAULT_PERCENTILES[0],
        percentile_tail: float = _kneser.DEFAULT_PERCENTILES[1],
        language_field: str = "language",
        keep: Iterable[str] | None = None,
        dedup: str | None = None,
        on_error: str = "skip",
        batch_size: int = _kneser.DEFAULT_BATCH_SIZE,
    ) -> None:
        if dedup not in ("document", None):
            raise ArgumentError(f"dedup must be 'document' or None, not {dedup!r}")
        if on_error not in ("skip", "raise"):
            raise ArgumentError("on_error must be 'skip' or 'raise'")
        self.keep = set(CCNET_BUCKETS if keep is None else keep)
        if not self.keep <= set(CCNET_BUCKETS):
            raise ArgumentError(f"keep must be a subset of {CCNET_BUCKETS}")
        self.scorer = _kneser.CcnetScorer(lm_dir, cutoff_csv, percentile_head, percentile_tail)
        self.field = field
        self.language_field = language_field
        self.dedup = dedup
        self.on_error = on_error
        self.batch_size = max(1, batch_size)

    @property
    def languages(self) -> list[str]:
        """The languages with models in ``lm_dir``."""
        return self.scorer.languages

    def run(
        self,
        inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        output: str | os.PathLike[str],
        *,
        format: str = "jsonl",
        progress: bool = False,
    ) -> Report:
        """Scores ``inputs`` (JSON lines, plain or compressed) into ``output``: each kept
        document unchanged plus CCNet's ``perplexity`` (scored documents only) and
        ``bucket``, written atomically. Returns a :class:`Report`."""
        start = time.perf_counter()
        inputs = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
        if format not in ("jsonl", "text"):
            raise ArgumentError(f"format must be 'jsonl' or 'text', not {format!r}")
        # The core's JSON-lines loop: parsing, scoring, dedup, keep and writing, per batch.
        job = self.scorer.jsonl(
            field=self.field,
            language_field=self.language_field,
            keep=sorted(self.keep),
            dedup=self.dedup is not None,
            text=format == "text",
            on_error=self.on_error,
        )
        out = _kneser.OutputFile(output, list(inputs))
        try:
            for path in inputs:
                for chunk in job.read(path, self.batch_size):
                    out.write(chunk)
                    if progress:
                        _progress(job.report)
            if progress:
                print(file=sys.stderr)
            out.commit()
        finally:
            out.abort()
        report = _report(job.report)
        report.output = str(output)
        report.seconds = time.perf_counter() - start
        return report


def _plot_histogram(report: Report, path: Path) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(8, 4.5))
    centers = (HIST_EDGES[:-1] + HIST_EDGES[1:]) / 2
    width = HIST_EDGES[1] - HIST_EDGES[0]
    bottom = np.zeros(len(centers))
    for b, color in zip(BUCKETS, ("#2a9d8f", "#e9c46a", "#e76f51")):
        counts = np.array(report.histogram_counts[b])
        ax.bar(centers, counts, width=width, bottom=bottom, color=color, label=b)
        bottom += counts
    for c in report.cutoffs:
        if math.isfinite(c) and c > 0:
            ax.axvline(math.log10(c), color="black", linestyle="--", linewidth=1)
    ax.set_xlabel("log10 perplexity")
    ax.set_ylabel("documents")
    ax.set_title("Perplexity per bucket (dashed: cutoffs)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return str(path)


BAR_CHARS = {"head": "#", "middle": "=", "tail": "."}


def terminal_histogram(report: Report, width: int = 40, max_rows: int = 24) -> str:
    """The perplexity distribution of ``report`` drawn in text: one row per perplexity range
    (log-spaced, the report's fixed bins merged to at most ``max_rows``), a bar stacked per
    bucket (``#`` head, ``=`` middle, ``.`` tail), the counts per bucket, and the cutoffs
    marked on the row they fall in."""
    fine = np.array([report.histogram_counts[b] for b in BUCKETS])
    totals = fine.sum(axis=0)
    title = "perplexity histogram (# head, = middle, . tail; <- cutoff)"
    if not totals.any():
        return f"{title}\n  (no documents)"
    nz = np.nonzero(totals)[0]
    first, last = int(nz[0]), int(nz[-1]) + 1
    step = max(1, -(-(last - first) // max_rows))
    rows = []
    for start in range(first, last, step):
        stop = min(start + step, len(HIST_EDGES) - 1)
        counts = fine[:, start:stop].sum(axis=1)
        rows.append((float(10 ** HIST_EDGES[start]), float(10 ** HIST_EDGES[stop]), counts))
    peak = max(int(c.sum()) for _, _, c in rows)
    names = "  ".join(f"{b:>6}" for b in BUCKETS)
    out = [title, f"  {'perplexity':^17} {'':<{width}}  {names}"]
    labels = ("head/middle", "middle/tail")
    for lo, hi, counts in rows:
        bar = ""
        for b, c in zip(BUCKETS, counts):
            bar += BAR_CHARS[b] * round(width * int(c) / peak)
        bar = bar[:width]
        nums = "  ".join(f"{int(c):>6}" for c in counts)
        marks = [
            f"<- {label} cutoff {cut:,.1f}"
            for cut, label in zip(report.cutoffs, labels)
            if math.isfinite(cut) and lo <= cut < hi
        ]
        line = f"  {lo:>8,.0f}-{hi:<8,.0f} {bar:<{width}}  {nums}"
        out.append(line + ("  " + "; ".join(marks) if marks else ""))
    below = [f"{c:,.1f}" for c in report.cutoffs if math.isfinite(c) and c < rows[0][0]]
    above = [f"{c:,.1f}" for c in report.cutoffs if math.isfinite(c) and c >= rows[-1][1]]
    if below or above:
        out.append(f"  cutoffs outside the drawn range: {', '.join(below + above)}")
    return "\n".join(out)


def _normalized_lines(
    inputs: Sequence[str | os.PathLike[str]], normalizer: Any, tokenizer: Any
) -> Iterator[str]:
    for path in inputs:
        for batch in _kneser.read_lines(os.fspath(path)):
            texts = [t for _, t in batch if t is not None]  # strict: never None
            yield from _kneser.prepare_lines(texts, normalizer, tokenizer)


def train_lm(
    inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    order: int,
    arpa: str | os.PathLike[str] | None = None,
    *,
    binary: str | os.PathLike[str] | None = None,
    normalizer: Any = "ccnet",
    tokenizer: Any = None,
    sp_model: str | os.PathLike[str] | None = None,
    sp_vocab_size: int = 8000,
    sp_options: dict[str, Any] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """CCNet's recipe: normalize and tokenize a reference corpus, estimate an order-N model,
    write the ARPA and/or KenLM's binary model.

    With ``sp_model``, the SentencePiece model is trained first, as CCNet's models were
    (``spm_train`` on the normalized text; needs ``pip install "kneser[sentencepiece]"``),
    written there, and the model is estimated on its pieces. ``sp_model="lm/en.sp.model",
    binary="lm/en.arpa.bin"`` gives the pair of a CCNet ``lm_dir``: the binary is KenLM's
    probing format (``build_binary``'s default layout, the bytes it writes for the ARPA),
    written straight from estimation when no ``arpa`` is asked for; CCNet's kenlm and
    ``Pipeline.ccnet`` both load it.

    Args:
        inputs: text files, one sentence (paragraph) a line; plain, .gz, .xz or .zst.
        order: the model order.
        arpa: the ARPA to write (None: only the binary).
        binary: KenLM's probing binary model to write (fast to load, memory-mapped).
        normalizer: a ``kneser.Normalizer``, "ccnet" (default) or None.
        tokenizer: a ``kneser.Tokenizer`` (a ``kneser.SentencePiece`` too) or None.
        sp_model: where to write a SentencePiece model trained on the normalized text (then
            the tokenizer); None trains none.
        sp_vocab_size: its vocabulary size.
        sp_options: more ``sentencepiece.SentencePieceTrainer.train`` options.
        **options: passed to ``kneser.estimate`` (memory, prune, discount_fallback, ...).

    Returns:
        the estimation summary, with the ``arpa``, ``binary`` and ``sp_model`` paths written.

    Every output is claimed before any work (an input, a directory or the same path twice is
    an ``ArgumentError``) and appears only when complete.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    outputs = {
        name: os.fspath(path)
        for name, path in (("arpa", arpa), ("binary", binary), ("sp_model", sp_model))
        if path is not None
    }
    if arpa is None and binary is None:
        raise ArgumentError("train_lm: give arpa, binary or both")
    if len(set(map(os.path.abspath, outputs.values()))) < len(outputs):
        raise ArgumentError(f"train_lm: two outputs are the same file: {outputs}")
    paths = [os.fspath(p) for p in inputs]
    for path in outputs.values():
        _kneser.claim_output(path, paths)
    if normalizer == "ccnet":
        normalizer = _kneser.Normalizer.ccnet()
    if normalizer is not None and not isinstance(normalizer, _kneser.Normalizer):
        raise ArgumentError(f"train_lm: normalizer must be a kneser.Normalizer, got {normalizer!r}")
    if tokenizer is not None and not isinstance(tokenizer, _kneser.Tokenizer):
        raise ArgumentError(f"train_lm: tokenizer must be a kneser.Tokenizer, got {tokenizer!r}")
    if sp_model is not None:
        if tokenizer is not None:
            raise ArgumentError("give sp_model (to train one) or tokenizer, not both")
        tokenizer = _train_sentencepiece(
            (t for t in _normalized_lines(inputs, normalizer, None) if t),
            outputs["sp_model"],
            paths,
            sp_vocab_size,
            dict(sp_options or {}),
        )
    lines = _normalized_lines(inputs, normalizer, tokenizer)
    if arpa is not None:
        summary = _kneser.estimate(texts=lines, order=order, arpa=outputs["arpa"], **options)
        if binary is not None:
            _kneser.Model(outputs["arpa"]).save_binary(outputs["binary"], layout="probing")
    else:
        # Straight from estimation to the binary file: no ARPA is written.
        summary = _kneser.estimate(
            texts=lines, order=order, binary=outputs["binary"], binary_layout="probing", **options
        )
    summary.update(outputs)
    return summary


def _train_sentencepiece(
    lines: Iterator[str], path: str, inputs: list[str], vocab_size: int, options: dict[str, Any]
) -> Any:
    try:
        import sentencepiece as spm
    except ImportError:
        raise ArgumentError(
            "training a SentencePiece model needs the sentencepiece package: "
            'pip install "kneser[sentencepiece]"'
        ) from None
    import io

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=lines,
        model_writer=model,
        vocab_size=vocab_size,
        minloglevel=options.pop("minloglevel", 2),
        **options,
    )
    with _kneser.OutputFile(path, inputs) as out:
        out.write(model.getvalue())
    return _kneser.SentencePiece(path)


def demo(out_dir: str | os.PathLike[str] | None = None, order: int = 3) -> Report:
    """Runs the whole flow on the bundled public-domain sample (no network): trains a model on
    ``data/reference.txt.xz``, filters ``data/documents.jsonl.xz`` by perplexity (keeping the
    head and middle buckets, dropping exact duplicates), writes token-id shards of the kept
    text, and prints the report and the perplexity histogram: a PNG (its path printed) when
    matplotlib is installed, else drawn in the terminal."""
    data = Path(__file__).parent / "data"
    out = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="kneser-demo-"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"kneser demo: writing into {out}\n")
    print(f"1. train an order-{order} model on {data / 'reference.txt.xz'} (CCNet normalization)")
    summary = train_lm(
        [data / "reference.txt.xz"], order, out / "lm.arpa", binary=out / "lm.bin", memory="256M"
    )
    counts = ", ".join(f"{n:,} {i + 1}-grams" for i, n in enumerate(summary["counts"]))
    print(f"   {summary['tokens']:,} tokens -> {counts} in {summary['seconds']:.2f} s")
    print(f"   ARPA {out / 'lm.arpa'}, binary {out / 'lm.bin'}\n")
    print(f"2. filter {data / 'documents.jsonl.xz'} by perplexity (keep head and middle)")
    pipeline = Pipeline(out / "lm.bin", keep=("head", "middle"), dedup="document")
    report = pipeline.run(
        [data / "documents.jsonl.xz"],
        out / "kept.jsonl",
        format="jsonl",
        shards=out / "shards",
        histogram=out / "perplexity.png",
    )
    print("\n".join("   " + line for line in str(report).split("\n")))
    if report.histogram:
        print(f"\n   perplexity histogram (PNG): {report.histogram}")
    elif report.histogram_text:
        print("\n   matplotlib is not installed (pip install 'kneser[plot]' for a PNG):")
        print("\n".join("   " + line for line in report.histogram_text.split("\n")))
    kept = [
        _arrow.json_row(line)
        for _, lines, _ in _kneser.read_documents(out / "kept.jsonl")
        for line in lines
    ]
    by_source: dict[str, int] = {}
    for d in kept:
        by_source[d.get("source", "?")] = by_source.get(d.get("source", "?"), 0) + 1
    print(f"\n   kept by source: {dict(sorted(by_source.items()))}")
    if kept:
        best = min(kept, key=lambda d: d["perplexity"])
        print(f"   lowest perplexity kept ({best['perplexity']}): {best['text'][:90]}")
    return report
