"""kneser on Ray: sharded counting, a partitioned merge, estimation and perplexity filtering.

Needs the extra ``pip install "kneser[ray]"``. Every path handed to a task (count files,
partitions, the ARPA) must be visible to every node: a shared mount (NFS, EFS, Lustre, a
bucket mounted with a FUSE driver). Input text can come from object storage through a Ray
Dataset (``ray.data.read_text("s3://...")``). See docs/ray.md.

The flow of :func:`estimate` (byte-identical to ``kneser.estimate`` on the concatenated corpus):

1. **count** (parallel tasks): each shard (a file, or a block of a Dataset) becomes a count file:
   its vocabulary and its counted order-N windows in suffix order (``kneser.count``).
2. **vocabulary pass** (one task): the shards' vocabularies merged in corpus order into a
   vocabulary file; then one task per shard counts its windows per merged last-word id, and
   the driver cuts the id space into ranges of about equal size.
3. **partitioned merge** (parallel tasks): each range's windows, read from every shard, mapped
   to merged ids, combined and sorted into a partition file.
4. **estimation** (one task, on one node): the partitions, in range order, through
   ``kneser.estimate(None, ..., from_counts=partitions)``. Memory there: the merged vocabulary
   plus the ``memory`` sort budget (beyond it the sorter spills to ``temp_dir``); disk: about
   twice the partitions and the ARPA.

Scoring: :class:`PerplexityScorer` is a Ray Data class UDF that loads the model once per actor
(a binary model is memory-mapped, so actors on one node share its pages); :func:`score` and
:func:`filter_pipeline` chain normalize -> score -> bucket as ``map_batches`` stages.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import kneser
from kneser import _kneser

try:
    import ray
    import ray.data
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise ImportError('kneser.ray needs Ray: pip install "kneser[ray]"') from e

__all__ = [
    "Bucketer",
    "CcnetScorer",
    "Normalize",
    "PerplexityScorer",
    "calibrate",
    "ccnet",
    "count",
    "estimate",
    "filter_pipeline",
    "merge",
    "partition_bounds",
    "score",
]

# ---------------------------------------------------------------------------------------------
# Tasks. Each runs kneser's Rust code with the GIL released; `threads` is both the Ray CPU
# reservation and the size of the task's Rust thread pool.


def _timed(info: dict, started: float, cpu: float) -> dict:
    """Adds the task's wall seconds and its process's CPU seconds (all threads) to `info`."""
    info["seconds"] = time.perf_counter() - started
    info["cpu_seconds"] = time.process_time() - cpu
    return info


def _count_shard(source: dict, order: int, output: str, options: dict) -> dict:
    """Counts one shard; `source` is ``{"files": [...]}`` or ``{"texts": iterable}``."""
    started, cpu = time.perf_counter(), time.process_time()
    info = kneser.count(**source, order=order, output=output, **options)
    info["path"] = output
    return _timed(info, started, cpu)


_count_task = ray.remote(_count_shard)


@ray.remote
def _vocabulary_task(shards: list[str], output: str, temp_dir: str | None) -> dict:
    info = _kneser.merge_vocabularies(shards, output, temp_dir=temp_dir)
    info["path"] = output
    return info


@ray.remote
def _histogram_task(shard: str, vocabulary: str) -> np.ndarray:
    return _kneser.last_word_histogram(shard, vocabulary)


@ray.remote
def _partition_task(
    shards: list[str], vocabulary: str, lo: int, hi: int, output: str, options: dict
) -> dict:
    started, cpu = time.perf_counter(), time.process_time()
    info = _kneser.merge_partition(shards, vocabulary, lo, hi, output, **options)
    info["path"] = output
    return _timed(info, started, cpu)


@ray.remote
def _estimate_task(partitions: list[str], order: int, arpa: str, options: dict) -> dict:
    started, cpu = time.perf_counter(), time.process_time()
    info = kneser.estimate(None, order=order, arpa=arpa, from_counts=partitions, **options)
    return _timed(info, started, cpu)


def _with_cpus(task: Any, threads: int) -> Any:
    return task.options(num_cpus=max(1, threads))


def _count_options(
    memory: Any, temp_dir: Any, threads: int, skip_symbols: bool, replace_invalid_utf8: bool
) -> dict:
    return {
        "memory": memory,
        "temp_dir": None if temp_dir is None else str(temp_dir),
        "threads": threads,
        "skip_symbols": skip_symbols,
        "replace_invalid_utf8": replace_invalid_utf8,
    }


# ---------------------------------------------------------------------------------------------
# Counting


def count(
    source: Sequence[str | os.PathLike[str]] | ray.data.Dataset,
    order: int,
    workdir: str | os.PathLike[str],
    *,
    column: str = "text",
    lines_per_shard: int = 1_000_000,
    memory: int | str = kneser.DEFAULT_MEMORY,
    temp_dir: str | os.PathLike[str] | None = None,
    threads: int = 1,
    skip_symbols: bool = False,
    replace_invalid_utf8: bool = False,
) -> list[dict]:
    """Counts shards in parallel Ray tasks; one count file per shard, in corpus order.

    Args:
        source: a list of files (plain, .gz, .xz, .zst), each one shard, in corpus order, each
            ending with a newline (all but the last: a line cut across two files would be
            counted as two sentences); or a
            Ray Dataset with a str column ``column``, one line (sentence) per row, cut into
            shards of ``lines_per_shard`` rows in the Dataset's order.
        order: the model order N.
        workdir: a directory visible to every node; count files go to ``workdir/counts``.
        column: the Dataset's text column.
        lines_per_shard: rows per shard of a Dataset.
        memory: sort budget of each task (bytes or "500M", "2G").
        temp_dir: local temp space of each task (default: the node's).
        threads: CPUs reserved per task and its Rust thread count.
        skip_symbols, replace_invalid_utf8: as for ``kneser.count``.

    Returns:
        one dict per shard, in corpus order: path, order, tokens, words, records, seconds.

    Example:
        >>> shards = kneser.ray.count(["a.txt", "b.txt"], order=5, workdir="/shared/lm")
    """
    out_dir = Path(workdir) / "counts"
    out_dir.mkdir(parents=True, exist_ok=True)
    options = _count_options(memory, temp_dir, threads, skip_symbols, replace_invalid_utf8)
    if isinstance(source, ray.data.Dataset):
        return _count_dataset(source, order, out_dir, column, lines_per_shard, options)
    paths = [os.fspath(p) for p in source]
    if not paths:
        raise kneser.ArgumentError("no input files given")
    task = _with_cpus(_count_task, threads)
    refs = [
        task.remote(
            {"files": [p]},
            order,
            str(out_dir / f"shard{i:05d}-{uuid.uuid4().hex[:8]}.counts"),
            options,
        )
        for i, p in enumerate(paths)
    ]
    return ray.get(refs)


class _CountBlock:
    """map_batches function: one batch of rows -> one count file, its info as one row."""

    def __init__(self, order: int, out_dir: str, column: str, options: dict):
        self.order, self.out_dir, self.column, self.options = order, out_dir, column, options

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        # Null rows are no text (skipped), bytes are decoded: never counted as their repr.
        lines = (
            t for t in (_text(v, i) for i, v in enumerate(batch[self.column])) if t is not None
        )
        out = os.path.join(self.out_dir, f"shard-{uuid.uuid4().hex}.counts")
        info = _count_shard({"texts": lines}, self.order, out, self.options)
        return {k: [v] for k, v in info.items()}


def _count_dataset(
    ds: ray.data.Dataset,
    order: int,
    out_dir: Path,
    column: str,
    lines_per_shard: int,
    options: dict,
) -> list[dict]:
    ctx = ray.data.DataContext.get_current()
    saved = ctx.execution_options.preserve_order
    # Shards must come back in the Dataset's order: the merged vocabulary (ids by first
    # appearance) and the `</s>`-less final line depend on it.
    ctx.execution_options.preserve_order = True
    # Rows are whole lines: each shard's last line closes with </s> like the others.
    try:
        fn = _CountBlock(order, str(out_dir), column, options)
        rows = ds.map_batches(
            fn,
            batch_size=lines_per_shard,
            batch_format="numpy",
            num_cpus=max(1, options["threads"]),
        ).take_all()
    finally:
        ctx.execution_options.preserve_order = saved
    if not rows:
        raise kneser.ArgumentError("the Dataset is empty")
    return [dict(r) for r in rows]


# ---------------------------------------------------------------------------------------------
# The partitioned merge


def partition_bounds(histogram: np.ndarray, partitions: int) -> list[tuple[int, int]]:
    """Cuts merged word ids into ``partitions`` consecutive ranges of about equal window counts.

    Args:
        histogram: windows per merged last-word id (summed over shards).
        partitions: how many ranges (fewer come back when there are fewer non-empty ids).

    Returns:
        ``[(lo, hi), ...]`` covering ``0 .. len(histogram)`` in order, each non-empty.

    Example:
        >>> kneser.ray.partition_bounds(np.array([0, 0, 5, 1, 1, 3]), 2)
        [(0, 3), (3, 6)]
    """
    n = len(histogram)
    if partitions < 1:
        raise kneser.ArgumentError(f"partitions must be at least 1, got {partitions}")
    total = int(histogram.sum())
    cum = np.cumsum(histogram, dtype=np.uint64)
    cuts = [0]
    for i in range(1, partitions):
        target = total * i // partitions
        # The first id whose cumulative count reaches the target ends this range.
        cut = int(np.searchsorted(cum, target, side="left")) + 1
        if cuts[-1] < cut < n:
            cuts.append(cut)
    cuts.append(n)
    return list(zip(cuts[:-1], cuts[1:]))


def merge(
    shards: Sequence[str | os.PathLike[str] | dict],
    workdir: str | os.PathLike[str],
    *,
    partitions: int | None = None,
    memory: int | str = kneser.DEFAULT_MEMORY,
    temp_dir: str | os.PathLike[str] | None = None,
    threads: int = 1,
) -> list[dict]:
    """Merges count files of shards (corpus order) into partition files, in parallel tasks.

    A vocabulary pass first (one task: the merged vocabulary in corpus order, written to
    ``workdir/vocab.counts``), one histogram task per shard to balance the key ranges, then
    one task per range of merged last-word ids.

    Args:
        shards: count files (paths, or the dicts :func:`count` returns), in corpus order.
        workdir: a directory visible to every node; partitions go to ``workdir/partitions``.
        partitions: how many (default: the cluster's CPUs divided by ``threads``).
        memory: sort budget of each merge task.
        temp_dir: local temp space of each task.
        threads: CPUs reserved per task and its Rust thread count.

    Returns:
        one dict per partition in range order: path, lo, hi, order, tokens, words, records,
        seconds.

    Example:
        >>> parts = kneser.ray.merge(shards, "/shared/lm", partitions=16)
    """
    paths = [os.fspath(s["path"] if isinstance(s, dict) else s) for s in shards]
    if not paths:
        raise kneser.ArgumentError("no count files given")
    workdir = Path(workdir)
    part_dir = workdir / "partitions"
    part_dir.mkdir(parents=True, exist_ok=True)
    tmp = None if temp_dir is None else str(temp_dir)
    vocabulary = str(workdir / "vocab.counts")
    ray.get(_vocabulary_task.remote(paths, vocabulary, tmp))
    histogram = sum(ray.get([_histogram_task.remote(p, vocabulary) for p in paths]))
    if partitions is None:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        partitions = max(1, cpus // max(1, threads))
    bounds = partition_bounds(np.asarray(histogram), partitions)
    options = {"memory": memory, "temp_dir": tmp, "threads": threads}
    task = _with_cpus(_partition_task, threads)
    refs = [
        task.remote(paths, vocabulary, lo, hi, str(part_dir / f"part{i:05d}.counts"), options)
        for i, (lo, hi) in enumerate(bounds)
    ]
    infos = ray.get(refs)
    for info, (lo, hi) in zip(infos, bounds):
        info["lo"], info["hi"] = lo, hi
    return infos


# ---------------------------------------------------------------------------------------------
# Estimation


def estimate(
    source: Sequence[str | os.PathLike[str]] | ray.data.Dataset,
    order: int,
    arpa: str | os.PathLike[str],
    *,
    workdir: str | os.PathLike[str],
    partitions: int | None = None,
    lines_per_shard: int = 1_000_000,
    memory: int | str = kneser.DEFAULT_MEMORY,
    final_memory: int | str | None = None,
    temp_dir: str | os.PathLike[str] | None = None,
    threads: int = 1,
    final_threads: int | None = None,
    keep_files: bool = False,
    **options: Any,
) -> dict:
    """Estimates a model on Ray: count, partitioned merge, estimation on one node.

    The ARPA is byte-identical to ``kneser.estimate`` on the concatenated corpus (the files in
    order, or the Dataset's rows in order).

    Args:
        source: files (one shard each, corpus order) or a Ray Dataset of lines (see
            :func:`count`).
        order: the model order N.
        arpa: where the final task writes the ARPA (a path visible to the node running it).
        workdir: shared directory for count and partition files.
        partitions: partitions of the merge (default: cluster CPUs / threads).
        lines_per_shard: rows per counting task when ``source`` is a Dataset.
        memory: sort budget of each counting and merge task.
        final_memory: sort budget of the estimation (default: ``memory``).
        temp_dir: local temp space of every task.
        threads: CPUs per counting and merge task.
        final_threads: CPUs of the estimation task (default: ``threads``).
        keep_files: keep the count and partition files (default: remove them at the end).
        **options: passed to ``kneser.estimate`` (prune, discount_fallback, limit_vocab,
            interpolate_unigrams, vocab_pad, verbose, ...).

    Returns:
        ``kneser.estimate``'s summary dict, with ``stages``: wall seconds of count, merge
        (vocabulary pass, histograms and partitions) and estimate; the per-task wall seconds
        of the count and merge tasks (``count_task_seconds``, ``merge_task_seconds``); the
        CPU seconds of each stage's tasks (``cpu_seconds``); the partitions as
        ``(lo, hi, windows)``.

    Example:
        >>> kneser.ray.estimate(files, 5, "/shared/lm.arpa", workdir="/shared/lm", prune=[0, 1])
    """
    for bad in ("from_counts", "source"):
        if bad in options:
            raise kneser.ArgumentError(f"{bad} is not an option of kneser.ray.estimate")
    count_opts = {k: options[k] for k in ("skip_symbols", "replace_invalid_utf8") if k in options}
    if options.get("lmplz_final_line") is False:
        raise kneser.ArgumentError(
            "lmplz_final_line=False is not supported on Ray; end every shard with a newline"
        )
    tmp = None if temp_dir is None else str(temp_dir)
    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    shards = count(
        source,
        order,
        workdir,
        lines_per_shard=lines_per_shard,
        memory=memory,
        temp_dir=tmp,
        threads=threads,
        **count_opts,
    )
    t1 = time.perf_counter()
    stages["count"] = t1 - t0
    parts = merge(
        shards, workdir, partitions=partitions, memory=memory, temp_dir=tmp, threads=threads
    )
    t2 = time.perf_counter()
    stages["merge"] = t2 - t1
    final = dict(options)
    final.pop("replace_invalid_utf8", None)
    final.pop("skip_symbols", None)
    final["memory"] = memory if final_memory is None else final_memory
    final["temp_dir"] = tmp
    final["threads"] = threads if final_threads is None else final_threads
    task = _with_cpus(_estimate_task, final["threads"])
    try:
        summary = ray.get(task.remote([p["path"] for p in parts], order, os.fspath(arpa), final))
    finally:
        if not keep_files:
            for info in [*shards, *parts]:
                Path(info["path"]).unlink(missing_ok=True)
            (Path(workdir) / "vocab.counts").unlink(missing_ok=True)
    stages["estimate"] = time.perf_counter() - t2
    summary["stages"] = stages
    summary["count_task_seconds"] = [s["seconds"] for s in shards]
    summary["merge_task_seconds"] = [p["seconds"] for p in parts]
    summary["cpu_seconds"] = {
        "count": sum(s["cpu_seconds"] for s in shards),
        "merge": sum(p["cpu_seconds"] for p in parts),
        "estimate": summary.pop("cpu_seconds"),
    }
    summary["partitions"] = [(p["lo"], p["hi"], p["records"]) for p in parts]
    return summary


# ---------------------------------------------------------------------------------------------
# Scoring and the filtering pipeline as map_batches stages


def _text(value: Any, row: int) -> str | None:
    """A row's text: str as is, bytes decoded as UTF-8, None (a null) as no text; any other
    type is an error (never its Python repr)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError as err:
            raise kneser.FormatError(f"row {row}: invalid UTF-8 at byte {err.start}") from None
    if isinstance(value, np.str_):
        return str(value)
    raise kneser.ArgumentError(f"row {row}: expected str or bytes text, got {type(value).__name__}")


def _texts(column: np.ndarray) -> list[str]:
    """The texts of a column; a null row is an empty text (it scores as a blank row)."""
    return [_text(t, i) or "" for i, t in enumerate(column)]


class PerplexityScorer:
    """Ray Data class UDF: the model is loaded once per actor, then scores batches.

    A binary model (``Model.save_binary``) is memory-mapped: actors on one node share its
    pages through the page cache, so memory per actor stays small. An ARPA is parsed into
    memory by every actor.

    Args:
        model: path of an ARPA or binary model, visible to every node.
        column: the text column to score.
        output: the column written with the perplexities (float64).
        documents: False scores each row as one sentence (``Model.perplexity_batch``); True
            takes each row as a document of lines, as ``kneser.Pipeline`` and CCNet do: the
            non-blank lines are scored one by one and the perplexity is
            ``10 ** (-sum of line scores / (tokens + lines))`` (NaN for a blank document).

    Example:
        >>> ds.map_batches(PerplexityScorer, fn_constructor_args=("lm.kbin",), concurrency=4)
    """

    def __init__(
        self,
        model: str | os.PathLike[str],
        column: str = "text",
        output: str = "perplexity",
        documents: bool = False,
    ):
        self.model = kneser.Model(os.fspath(model))
        self.column = column
        self.output = output
        self.documents = documents

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = _texts(batch[self.column])
        if not self.documents:
            batch[self.output] = np.asarray(self.model.perplexity_batch(texts))
            return batch
        docs = [[ln for ln in t.split("\n") if ln.strip()] for t in texts]
        flat = [ln for lines in docs for ln in lines]
        scores = np.asarray(self.model.score_batch(flat)) if flat else np.zeros(0)
        ppl = np.full(len(docs), np.nan)
        rows, totals, lengths = [], [], []
        pos = 0
        for i, lines in enumerate(docs):
            n = len(lines)
            if n:
                rows.append(i)
                totals.append(float(np.sum(scores[pos : pos + n])))
                lengths.append(sum(len(ln.split()) for ln in lines) + n)
            pos += n
        if rows:
            # The core's formula (kneser::ccnet::perplexity), the one home of it.
            ppl[rows] = _kneser.ccnet_perplexity(totals, lengths)
        batch[self.output] = ppl
        return batch


class Normalize:
    """Ray Data class UDF: writes ``Normalizer.ccnet()`` of a text column to another column.

    Args:
        column: the text column.
        output: the column to write (the raw text stays in ``column``).
        documents: normalize each line of a multi-line row on its own (CCNet's way).
        normalizer: keyword arguments of ``kneser.Normalizer.ccnet`` (punct, accent, case,
            numbers).

    Example:
        >>> ds.map_batches(Normalize, fn_constructor_kwargs={"output": "norm"}, concurrency=2)
    """

    def __init__(
        self,
        column: str = "text",
        output: str = "normalized",
        documents: bool = False,
        **normalizer: Any,
    ):
        make = getattr(getattr(kneser, "Normalizer", None), "ccnet", None)
        if make is None:
            raise kneser.ArgumentError(
                "this kneser has no Normalizer.ccnet; install a version with text cleaning"
            )
        self.normalizer = make(**normalizer)
        self.column = column
        self.output = output
        self.documents = documents

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = _texts(batch[self.column])
        if self.documents:
            # Line by line, as CCNet: the lines of every document in one parallel batch.
            split = [t.split("\n") for t in texts]
            flat = self.normalizer.normalize_batch([ln for lines in split for ln in lines])
            out, pos = [], 0
            for lines in split:
                out.append("\n".join(flat[pos : pos + len(lines)]))
                pos += len(lines)
            texts = out
        else:
            texts = self.normalizer.normalize_batch(texts)
        batch[self.output] = np.asarray(texts, dtype=object)
        return batch


class Bucketer:
    """map_batches function: buckets rows by perplexity, as CCNet's head / middle / tail.

    Args:
        cutoffs: increasing perplexity cutoffs; a row gets the first label whose cutoff its
            perplexity is below, the last label past every cutoff.
        labels: one more label than cutoffs (default head, middle, tail for two cutoffs).
        column: the perplexity column.
        output: the bucket column.

    Example:
        >>> ds.map_batches(Bucketer((300.0, 1000.0)))
    """

    def __init__(
        self,
        cutoffs: Sequence[float],
        labels: Sequence[str] | None = None,
        column: str = "perplexity",
        output: str = "bucket",
    ):
        cutoffs = [float(c) for c in cutoffs]
        if any(b <= a for a, b in zip(cutoffs, cutoffs[1:])):
            raise kneser.ArgumentError(f"cutoffs must increase, got {cutoffs}")
        if labels is None:
            labels = ["head", "middle", "tail"] if len(cutoffs) == 2 else None
        if labels is None or len(labels) != len(cutoffs) + 1:
            raise kneser.ArgumentError(f"give {len(cutoffs) + 1} labels for {len(cutoffs)} cutoffs")
        self.cutoffs = np.asarray(cutoffs)
        self.labels = np.asarray(list(labels), dtype=object)
        self.column = column
        self.output = output

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        ppl = np.asarray(batch[self.column], dtype=np.float64)
        batch[self.output] = self.labels[np.searchsorted(self.cutoffs, ppl, side="right")]
        return batch


class _KeepBuckets:
    """map_batches function: keeps the rows whose bucket is one of ``keep``."""

    def __init__(self, keep: Sequence[str], column: str = "bucket"):
        self.keep = np.asarray(list(keep), dtype=object)
        self.column = column

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        mask = np.isin(batch[self.column], self.keep)
        return {k: v[mask] for k, v in batch.items()}


def score(
    ds: ray.data.Dataset,
    model: str | os.PathLike[str],
    *,
    column: str = "text",
    output: str = "perplexity",
    documents: bool = False,
    concurrency: int | tuple[int, int] = 1,
    batch_size: int = 4096,
    num_cpus: float = 1,
) -> ray.data.Dataset:
    """Adds a perplexity column to ``ds`` (lazily): a pool of actors, each loading the model once.

    Args:
        ds: a Dataset with a str column ``column``.
        model: path of an ARPA or binary model, visible to every node.
        column, output: the text column and the perplexity column.
        documents: score rows as documents of lines (see :class:`PerplexityScorer`).
        concurrency: actors (an int, or a (min, max) autoscaling range).
        batch_size: rows per batch (each batch is scored in parallel in Rust).
        num_cpus: CPUs reserved per actor.

    Example:
        >>> kneser.ray.score(ray.data.read_text("s3://b/x.txt"), "lm.kbin", concurrency=8)
    """
    return ds.map_batches(
        PerplexityScorer,
        fn_constructor_args=(os.fspath(model),),
        fn_constructor_kwargs={"column": column, "output": output, "documents": documents},
        concurrency=concurrency,
        batch_size=batch_size,
        batch_format="numpy",
        num_cpus=num_cpus,
    )


def calibrate(
    scored: ray.data.Dataset,
    percentiles: Sequence[float] = (30.0, 60.0),
    *,
    column: str = "perplexity",
    sample: int = 10_000,
) -> tuple[float, ...]:
    """Perplexity cutoffs at ``percentiles`` of the first ``sample`` scored rows (as
    ``kneser.Pipeline`` calibrates; CCNet's head / middle / tail are 30 and 60).

    Args:
        scored: a Dataset with a perplexity column (e.g. from :func:`score`).
        percentiles: increasing percentiles in [0, 100].
        column: the perplexity column.
        sample: rows to read.

    Example:
        >>> cutoffs = kneser.ray.calibrate(kneser.ray.score(ds, "lm.kbin"))
    """
    rows = scored.limit(sample).select_columns([column]).take_all()
    ppl = np.array([r[column] for r in rows], dtype=np.float64)
    ppl = ppl[~np.isnan(ppl)]
    if ppl.size == 0:
        raise kneser.ArgumentError("no scored rows to calibrate the cutoffs on")
    return tuple(float(x) for x in np.percentile(ppl, list(percentiles)))


def filter_pipeline(
    ds: ray.data.Dataset,
    model: str | os.PathLike[str],
    *,
    cutoffs: Sequence[float] | None = None,
    labels: Sequence[str] | None = None,
    keep: Sequence[str] | None = None,
    normalize: bool | dict = True,
    documents: bool = False,
    column: str = "text",
    concurrency: int | tuple[int, int] = 1,
    batch_size: int = 4096,
) -> ray.data.Dataset:
    """The preprocessing pipeline as map_batches stages: normalize -> score -> bucket -> keep.

    Args:
        ds: a Dataset with a str column ``column`` (the raw text stays there).
        model: path of the model (trained on text normalized the same way).
        cutoffs: perplexity cutoffs of the buckets (None: no bucket column).
        labels: bucket labels (default head, middle, tail).
        keep: bucket labels to keep (None keeps every row).
        normalize: True for ``Normalizer.ccnet()``, a dict of its arguments, or False to
            score the raw text.
        documents: rows are documents of lines, normalized and scored line by line as
            ``kneser.Pipeline`` does.
        column: the text column.
        concurrency: actors per stage.
        batch_size: rows per batch.

    Example:
        >>> kneser.ray.filter_pipeline(ds, "lm.kbin", cutoffs=(300, 1000), keep=["head"])
    """
    scored_column = column
    if normalize:
        kwargs = normalize if isinstance(normalize, dict) else {}
        ds = ds.map_batches(
            Normalize,
            fn_constructor_kwargs={
                "column": column,
                "output": "normalized",
                "documents": documents,
                **kwargs,
            },
            concurrency=concurrency,
            batch_size=batch_size,
            batch_format="numpy",
        )
        scored_column = "normalized"
    ds = score(
        ds,
        model,
        column=scored_column,
        documents=documents,
        concurrency=concurrency,
        batch_size=batch_size,
    )
    if cutoffs is not None:
        ds = ds.map_batches(Bucketer(cutoffs, labels), batch_format="numpy", batch_size=batch_size)
        if keep is not None:
            ds = ds.map_batches(_KeepBuckets(keep), batch_format="numpy", batch_size=batch_size)
    elif keep is not None:
        raise kneser.ArgumentError("keep needs cutoffs")
    return ds


class CcnetScorer:
    """Ray Data class UDF: CCNet's perplexity filter (``kneser.Pipeline.ccnet``'s core scorer,
    loaded once per actor): adds CCNet's ``perplexity`` (NaN when unscored) and ``bucket``.

    Args:
        lm_dir: CCNet's model directory (``{lang}.sp.model`` + ``{lang}.arpa.bin``), visible
            to every node.
        cutoff_csv: CCNet's cutoff.csv (None: every bucket "all").
        column: the text column (CCNet: ``raw_content``); bytes are decoded, nulls unscored.
        language_column: the language column.
        percentile_head, percentile_tail: the cutoff rows (30 and 60).
    """

    def __init__(
        self,
        lm_dir: str | os.PathLike[str],
        cutoff_csv: str | os.PathLike[str] | None = None,
        column: str = "raw_content",
        language_column: str = "language",
        percentile_head: float = 30,
        percentile_tail: float = 60,
    ):
        self.scorer = kneser.CcnetScorer(lm_dir, cutoff_csv, percentile_head, percentile_tail)
        self.column = column
        self.language_column = language_column

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = [_text(t, i) for i, t in enumerate(batch[self.column])]
        n = len(texts)
        langs = batch.get(self.language_column, np.full(n, None, dtype=object))
        langs = [lang if isinstance(lang, str) else None for lang in langs]
        res = self.scorer.score_batch(texts, langs)
        batch["perplexity"] = res["perplexity"]
        batch["bucket"] = np.asarray(res["bucket"], dtype=object)
        return batch


def ccnet(
    ds: ray.data.Dataset,
    lm_dir: str | os.PathLike[str],
    cutoff_csv: str | os.PathLike[str] | None = None,
    *,
    column: str = "raw_content",
    language_column: str = "language",
    percentile_head: float = 30,
    percentile_tail: float = 60,
    keep: Sequence[str] | None = None,
    concurrency: int | tuple[int, int] = 1,
    batch_size: int = 4096,
    num_cpus: float = 1,
) -> ray.data.Dataset:
    """CCNet's perplexity filter on a Dataset (lazily): the same core scorer as
    ``kneser.Pipeline.ccnet``, one call per batch, in a pool of actors.

    Example:
        >>> kneser.ray.ccnet(ray.data.read_json("docs/"), "lm_sp", "cutoff.csv", keep=["head"])
    """
    ds = ds.map_batches(
        CcnetScorer,
        fn_constructor_args=(lm_dir, cutoff_csv),
        fn_constructor_kwargs={
            "column": column,
            "language_column": language_column,
            "percentile_head": percentile_head,
            "percentile_tail": percentile_tail,
        },
        concurrency=concurrency,
        batch_size=batch_size,
        batch_format="numpy",
        num_cpus=num_cpus,
    )
    if keep is not None:
        ds = ds.map_batches(_KeepBuckets(keep), batch_format="numpy", batch_size=batch_size)
    return ds
