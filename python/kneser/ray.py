"""kneser on Ray: sharded counting, a partitioned merge, a partitioned estimation and
perplexity filtering.

Needs the extra ``pip install "kneser[ray]"``. Every path handed to a task (count files,
partitions, the work files, the ARPA) must be visible to every node: a shared mount (NFS, EFS,
Lustre, a bucket mounted with a FUSE driver). Input text can come from object storage through a
Ray Dataset (``ray.data.read_text("s3://...")``). See docs/ray.md.

The flow of :func:`estimate` (byte-identical to ``kneser.estimate`` on the concatenated corpus),
each stage a set of Ray tasks with a barrier after it:

1. **count** (a task per shard): each shard (a file, or a block of a Dataset) becomes a count
   file: its vocabulary and its counted order-N windows in suffix order (``kneser.count``).
2. **merge**: the shards' vocabularies merged in corpus order (one task), a histogram of
   windows per merged last-word id (a task per shard), the id space cut into P ranges of about
   equal size, then a task per range writes its partition file.
3. **estimate** (``partitioned=True``): a task per partition for each of
   ``estimate/adjust``, ``estimate/contexts``, ``estimate/gamma``, ``estimate/interpolate``,
   with ``estimate/reduce`` (the discounts from summed count-of-counts) after adjust and
   ``estimate/concat`` (the header and the pieces in order) at the end. No task holds all
   n-grams of any order; the driver holds only the tasks' small summaries. With
   ``partitioned=False`` (the default) the estimation is one task on one node
   (``kneser.estimate(None, ..., from_counts=partitions)``).

Scoring: :class:`PerplexityScorer` is a Ray Data class UDF that loads the model once per actor
(a binary model is memory-mapped, so actors on one node share its pages); :func:`score` and
:func:`filter_pipeline` chain normalize -> score -> bucket as ``map_batches`` stages.
"""

from __future__ import annotations

import os
import resource
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Sequence
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
# reservation and the size of the task's Rust thread pool. Every task returns a small dict with
# a "task" record: stage, partition, wall, cpu, peak_rss, temp_bytes.


def _reset_peak_rss() -> bool:
    """Resets this process's peak RSS to its current RSS (Linux >= 4.0: ``/proc/self/clear_refs``);
    False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_rss(reset: bool) -> int:
    """The process's peak RSS in bytes since the reset (VmHWM), or its lifetime peak
    (``ru_maxrss``) when the reset was not possible."""
    if reset:
        try:
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _measured(stage: str, partition: int | None, fail: Any, fn: Callable, *args, **kw) -> dict:
    """Runs ``fn`` and adds its task record under "task": wall and CPU seconds (the worker
    process, every thread), the peak RSS of the worker process while the task ran, and the
    bytes of the files it wrote (``temp_bytes`` in fn's result, else the size of ``path``)."""
    reset = _reset_peak_rss()
    started, cpu = time.perf_counter(), time.process_time()
    if fail is not None and tuple(fail) == (stage, partition):
        # Failure injection for the tests: this task raises as a failing core call would.
        raise kneser.InternalError(f"injected failure in {stage} partition {partition}")
    out = fn(*args, **kw)
    info = dict(out) if isinstance(out, dict) else {"value": out}
    temp = info.pop("temp_bytes", None)
    if temp is None:
        path = info.get("path")
        temp = os.path.getsize(path) if path and os.path.exists(path) else 0
    info["task"] = {
        "stage": stage,
        "partition": partition,
        "wall": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
        "peak_rss": _peak_rss(reset),
        "temp_bytes": int(temp),
    }
    return info


def _count_shard(source: dict, order: int, output: str, options: dict) -> dict:
    """Counts one shard; `source` is ``{"files": [...]}`` or ``{"texts": iterable}``."""
    info = kneser.count(**source, order=order, output=output, **options)
    info["path"] = output
    return info


def _vocabulary(shards: list[str], output: str, temp_dir: str | None) -> dict:
    info = _kneser.merge_vocabularies(shards, output, temp_dir=temp_dir)
    info["path"] = output
    return info


def _partition(
    shards: list[str], vocabulary: str, lo: int, hi: int, output: str, options: dict
) -> dict:
    info = _kneser.merge_partition(shards, vocabulary, lo, hi, output, **options)
    info["path"] = output
    return info


def _one_node_estimate(partitions: list[str], order: int, arpa: str | None, options: dict) -> dict:
    info = kneser.estimate(None, order=order, arpa=arpa, from_counts=partitions, **options)
    info["path"] = options.get("binary") or arpa
    return info


_task = ray.remote(_measured)


def _submit(stage: str, partition: int | None, threads: int, fail: Any, fn: Callable, *args, **kw):
    return _task.options(num_cpus=max(1, threads)).remote(stage, partition, fail, fn, *args, **kw)


def _gather(refs: list) -> list:
    """``ray.get(refs)``; when one task fails, the others are waited for (so that none writes
    after the caller cleans up) before its error is raised. They are not cancelled: in Ray 2.60
    ``ray.cancel`` racing a task's completion aborts the driver ("Tried to complete task that
    was not pending"), and every task is bounded work."""
    try:
        return ray.get(refs)
    except BaseException:
        ray.wait(refs, num_returns=len(refs))
        raise


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
    _fail: Any = None,
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
        one dict per shard, in corpus order: path, order, tokens, words, records and its
        ``task`` record (stage "count").

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
    refs = [
        _submit(
            "count",
            i,
            threads,
            _fail,
            _count_shard,
            {"files": [p]},
            order,
            str(out_dir / f"shard{i:05d}-{uuid.uuid4().hex[:8]}.counts"),
            options,
        )
        for i, p in enumerate(paths)
    ]
    return _gather(refs)


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
        info = _measured(
            "count", None, None, _count_shard, {"texts": lines}, self.order, out, self.options
        )
        return {k: [v] for k, v in info.items()}


def _count_dataset(
    ds: ray.data.Dataset,
    order: int,
    out_dir: Path,
    column: str,
    lines_per_shard: int,
    options: dict,
) -> list[dict]:
    fn = _CountBlock(order, str(out_dir), column, options)
    mapped = ds.map_batches(
        fn,
        batch_size=lines_per_shard,
        batch_format="numpy",
        num_cpus=max(1, options["threads"]),
    )
    # Shards must come back in the Dataset's order: the merged vocabulary (ids by first
    # appearance) and the `</s>`-less final line depend on it. A Dataset executes with the
    # DataContext it was created with (shared with the Datasets derived from it), not the
    # current one: set preserve_order on both, and restore them.
    contexts: list[Any] = [ray.data.DataContext.get_current(), getattr(mapped, "context", None)]
    contexts = [
        c for i, c in enumerate(contexts) if c is not None and all(c is not d for d in contexts[:i])
    ]
    saved = [c.execution_options.preserve_order for c in contexts]
    # Rows are whole lines: each shard's last line closes with </s> like the others.
    try:
        for c in contexts:
            c.execution_options.preserve_order = True
        rows = mapped.take_all()
    finally:
        for c, v in zip(contexts, saved):
            c.execution_options.preserve_order = v
    if not rows:
        raise kneser.ArgumentError("the Dataset is empty")
    infos = [dict(r) for r in rows]
    for i, info in enumerate(infos):
        info["task"] = dict(info["task"], partition=i)
    return infos


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


def _merge(
    shards: Sequence[str | os.PathLike[str] | dict],
    workdir: str | os.PathLike[str],
    partitions: int | None,
    memory: int | str,
    temp_dir: str | os.PathLike[str] | None,
    threads: int,
    fail: Any = None,
) -> tuple[list[dict], list[dict]]:
    """:func:`merge`, with the task records of the vocabulary and histogram tasks."""
    paths = [os.fspath(s["path"] if isinstance(s, dict) else s) for s in shards]
    if not paths:
        raise kneser.ArgumentError("no count files given")
    workdir = Path(workdir)
    part_dir = workdir / "partitions"
    part_dir.mkdir(parents=True, exist_ok=True)
    tmp = None if temp_dir is None else str(temp_dir)
    vocabulary = str(workdir / "vocab.counts")
    voc = _gather([_submit("merge/vocabulary", None, 1, fail, _vocabulary, paths, vocabulary, tmp)])
    hist = _gather(
        [
            _submit("merge/histogram", i, 1, fail, _kneser.last_word_histogram, p, vocabulary)
            for i, p in enumerate(paths)
        ]
    )
    histogram = sum(h.pop("value") for h in hist)
    if partitions is None:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        partitions = max(1, cpus // max(1, threads))
    bounds = partition_bounds(np.asarray(histogram), partitions)
    options = {"memory": memory, "temp_dir": tmp, "threads": threads}
    refs = [
        _submit(
            "merge/partition",
            i,
            threads,
            fail,
            _partition,
            paths,
            vocabulary,
            lo,
            hi,
            str(part_dir / f"part{i:05d}.counts"),
            options,
        )
        for i, (lo, hi) in enumerate(bounds)
    ]
    infos = _gather(refs)
    for info, (lo, hi) in zip(infos, bounds):
        info["lo"], info["hi"] = lo, hi
    return infos, [*(v["task"] for v in voc), *(h["task"] for h in hist)]


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
        one dict per partition in range order: path, lo, hi, order, tokens, words, records and
        its ``task`` record (stage "merge/partition").

    Example:
        >>> parts = kneser.ray.merge(shards, "/shared/lm", partitions=16)
    """
    return _merge(shards, workdir, partitions, memory, temp_dir, threads)[0]


# ---------------------------------------------------------------------------------------------
# Estimation

# kneser.estimate's options that the estimation tasks take (the counting ones go to count).
# Rows per map_batches batch unless told otherwise (each scored in one core call).
_BATCH_SIZE = 4096

_ESTIMATE_OPTIONS = {
    "discount_fallback",
    "prune",
    "limit_vocab",
    "interpolate_unigrams",
    "vocab_pad",
    "verbose",
    "verbose_header",
    "collapse_values",
    "renumber",
}
_BINARY_OPTIONS = {"binary_layout", "quantize", "backoff_bits", "array_bits", "include_vocab"}
_COUNT_OPTIONS = {"skip_symbols", "replace_invalid_utf8", "lmplz_final_line"}


def _estimate_partitioned(
    parts: list[dict],
    order: int,
    arpa: str | None,
    binary: str | None,
    work: Path,
    options: dict,
    binary_options: dict,
    threads: int,
    final_threads: int,
    fail: Any,
) -> tuple[dict, list[dict]]:
    """The estimation stages as Ray tasks per partition, a barrier between stages."""
    bounds = [parts[0]["lo"], *(p["hi"] for p in parts)]
    paths = [p["path"] for p in parts]
    # lmplz's end-of-stream rule belongs to the last partition holding any window.
    end = max((i for i, p in enumerate(parts) if p["records"] > 0), default=-1)
    w = str(work)
    n = len(parts)
    tasks: list[dict] = []
    walls: dict[str, float] = {}

    def stage(
        name: str, fn: Callable, args: Callable[[int], tuple] | None, **kw: Any
    ) -> list[dict]:
        """One task per partition (or one task for ``args=None``), then a barrier."""
        started = time.perf_counter()
        cpus = final_threads if name == "estimate/concat" else threads
        if args is None:
            out = _gather([_submit(name, None, cpus, fail, fn, *kw.pop("call"), **kw)])
        else:
            out = _gather([_submit(name, p, cpus, fail, fn, *args(p)) for p in range(n)])
        walls[name] = time.perf_counter() - started
        tasks.extend(o.pop("task") for o in out)
        return out

    stage(
        "estimate/adjust",
        _kneser.partitioned_adjust,
        lambda p: (w, bounds, p, paths[p], p == end, order, options),
    )
    (glob,) = stage(
        "estimate/reduce", _kneser.partitioned_reduce, None, call=(w, bounds, order, options)
    )
    stage(
        "estimate/contexts", _kneser.partitioned_contexts, lambda p: (w, bounds, p, order, options)
    )
    stage("estimate/gamma", _kneser.partitioned_gamma, lambda p: (w, bounds, p, order, options))
    stage(
        "estimate/interpolate",
        _kneser.partitioned_interpolate,
        lambda p: (w, bounds, p, paths[p], order, options),
    )
    target = {"arpa": arpa} if binary is None else {"binary": binary, **binary_options}
    stage(
        "estimate/concat",
        _kneser.partitioned_concat,
        None,
        call=(w, bounds, order, paths),
        options=options,
        **target,
    )
    glob["estimate_stages"] = walls
    return glob, tasks


def estimate(
    source: Sequence[str | os.PathLike[str]] | ray.data.Dataset,
    order: int,
    arpa: str | os.PathLike[str] | None = None,
    *,
    workdir: str | os.PathLike[str],
    partitions: int | None = None,
    partitioned: bool = False,
    binary: str | os.PathLike[str] | None = None,
    lines_per_shard: int = 1_000_000,
    memory: int | str = kneser.DEFAULT_MEMORY,
    final_memory: int | str | None = None,
    temp_dir: str | os.PathLike[str] | None = None,
    threads: int = 1,
    final_threads: int | None = None,
    keep_files: bool = False,
    _fail: tuple[str, int | None] | None = None,
    **options: Any,
) -> dict:
    """Estimates a model on Ray: count, partitioned merge, partitioned estimation.

    The ARPA (or binary model) is byte-identical to ``kneser.estimate`` on the concatenated
    corpus (the files in order, or the Dataset's rows in order). Every stage is a set of Ray
    tasks with a barrier after it; each estimation task handles one partition of the n-grams
    (by the id of their last word), so no task holds a whole order (docs/ray.md).

    Args:
        source: files (one shard each, corpus order) or a Ray Dataset of lines (see
            :func:`count`).
        order: the model order N.
        arpa: where to write the ARPA (a path visible to the node running the last task).
        workdir: shared directory; each run works in its own ``workdir/run-*`` directory,
            removed at the end (unless ``keep_files``) and always after a failure.
        partitions: partitions P of the merge and the estimation (default: cluster CPUs /
            threads).
        partitioned: estimate in Ray tasks per partition: no task holds a whole order (the
            choice when the model does not fit one node). False (the default: on one machine
            it is about 2x faster, docs/ray.md) runs the estimation as one task on one node
            (with ``final_memory`` and ``final_threads``).
        binary: write a KenLM binary model here instead of an ARPA; ``binary_layout``,
            ``quantize``, ``backoff_bits``, ``array_bits``, ``include_vocab`` as for
            ``kneser.estimate``. The last task builds it from the concatenated ARPA stream
            and holds the whole model (this step is not partitioned).
        lines_per_shard: rows per counting task when ``source`` is a Dataset.
        memory: sort budget of each counting, merge and partitioned estimation task.
        final_memory: sort budget of the one-node estimation (default: ``memory``).
        temp_dir: local temp space of every task.
        threads: CPUs per counting, merge and partitioned estimation task.
        final_threads: CPUs of the one-node estimation and of the concat task (default:
            ``threads``).
        keep_files: keep the work files of a successful run (their directory is the
            summary's ``workdir``).
        **options: as for ``kneser.estimate`` (prune, discount_fallback, limit_vocab,
            interpolate_unigrams, vocab_pad, verbose_header, collapse_values, ...).

    Returns:
        ``kneser.estimate``'s summary dict (counts, unpruned_counts, discounts,
        fallback_orders, tokens, types, seconds), with ``stages``: wall seconds of count,
        merge and estimate; ``cpu_seconds`` of each stage's tasks; ``partitions`` as
        ``(lo, hi, windows)``; ``tasks``: one record per Ray task, in stage order, with
        ``stage`` ("count", "merge/vocabulary", "merge/histogram", "merge/partition",
        "estimate/adjust", "estimate/reduce", "estimate/contexts", "estimate/gamma",
        "estimate/interpolate", "estimate/concat", or "estimate" for the one-node
        estimation), ``partition`` (None for the single tasks), ``wall`` and ``cpu`` (seconds
        of the task, CPU of all its threads), ``peak_rss`` (bytes: the peak resident memory
        of the worker process while the task ran, measured in the task; Linux resets the
        process's peak at the task's start, elsewhere it is the worker's lifetime peak) and
        ``temp_bytes`` (bytes of the files the task wrote to the work directory or the
        target; sort spills to ``temp_dir`` not included).

    Example:
        >>> kneser.ray.estimate(files, 5, "/shared/lm.arpa", workdir="/shared/lm", prune=[0, 1])
    """
    for bad in ("from_counts", "source", "files", "texts"):
        if bad in options:
            raise kneser.ArgumentError(f"{bad} is not an option of kneser.ray.estimate")
    unknown = set(options) - _ESTIMATE_OPTIONS - _BINARY_OPTIONS - _COUNT_OPTIONS
    if unknown:
        raise kneser.ArgumentError(f"unknown options of kneser.ray.estimate: {sorted(unknown)}")
    if options.get("lmplz_final_line") is False:
        raise kneser.ArgumentError(
            "lmplz_final_line=False is not supported on Ray; end every shard with a newline"
        )
    if (arpa is None) == (binary is None):
        raise kneser.ArgumentError("give arpa= or binary= (one of them)")
    count_opts = {k: options[k] for k in ("skip_symbols", "replace_invalid_utf8") if k in options}
    est_opts = {k: v for k, v in options.items() if k in _ESTIMATE_OPTIONS}
    bin_opts = {k: v for k, v in options.items() if k in _BINARY_OPTIONS}
    limit = est_opts.get("limit_vocab")
    if limit is not None and not isinstance(limit, (str, os.PathLike)):
        est_opts["limit_vocab"] = [str(w) for w in limit]  # an iterator is read once, here
    elif limit is not None:
        est_opts["limit_vocab"] = os.fspath(limit)
    arpa = None if arpa is None else os.fspath(arpa)
    binary = None if binary is None else os.fspath(binary)
    tmp = None if temp_dir is None else str(temp_dir)
    final_threads = threads if final_threads is None else final_threads
    run = Path(workdir) / f"run-{uuid.uuid4().hex[:12]}"
    run.mkdir(parents=True)
    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    ok = False
    try:
        shards = count(
            source,
            order,
            run,
            lines_per_shard=lines_per_shard,
            memory=memory,
            temp_dir=tmp,
            threads=threads,
            _fail=_fail,
            **count_opts,
        )
        t1 = time.perf_counter()
        stages["count"] = t1 - t0
        parts, merge_tasks = _merge(shards, run, partitions, memory, tmp, threads, _fail)
        t2 = time.perf_counter()
        stages["merge"] = t2 - t1
        tasks = [*(s["task"] for s in shards), *merge_tasks, *(p["task"] for p in parts)]
        if partitioned:
            est_opts.update(memory=memory, temp_dir=tmp, threads=threads)
            summary, est_tasks = _estimate_partitioned(
                parts,
                order,
                arpa,
                binary,
                run / "estimate",
                est_opts,
                bin_opts,
                threads,
                final_threads,
                _fail,
            )
        else:
            est_opts.update(bin_opts)
            est_opts.update(
                memory=memory if final_memory is None else final_memory,
                temp_dir=tmp,
                threads=final_threads,
            )
            if binary is not None:
                est_opts["binary"] = binary
            (summary,) = _gather(
                [
                    _submit(
                        "estimate",
                        None,
                        final_threads,
                        _fail,
                        _one_node_estimate,
                        [p["path"] for p in parts],
                        order,
                        arpa,
                        est_opts,
                    )
                ]
            )
            est_tasks = [summary.pop("task")]
            for k in ("path", "cpu_seconds", "seconds"):
                summary.pop(k, None)
        ok = True
    finally:
        if not ok or not keep_files:
            shutil.rmtree(run, ignore_errors=True)
    t3 = time.perf_counter()
    stages["estimate"] = t3 - t2
    tasks.extend(est_tasks)
    summary["seconds"] = t3 - t0
    summary["stages"] = stages
    summary["cpu_seconds"] = {
        s: sum(t["cpu"] for t in tasks if t["stage"].split("/")[0] == s)
        for s in ("count", "merge", "estimate")
    }
    summary["partitions"] = [(p["lo"], p["hi"], p["records"]) for p in parts]
    summary["tasks"] = tasks
    if keep_files:
        summary["workdir"] = str(run)
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
        # kneser::pipeline::document_perplexities: the generic pipeline's rule, one home.
        batch[self.output] = _kneser.document_perplexities(self.model, texts)
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
            # Line by line, as CCNet and kneser.Pipeline (kneser::pipeline::normalize_documents).
            texts = _kneser.normalize_documents(self.normalizer, texts)
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
        self.cutoffs = cutoffs
        self.labels = np.asarray(list(labels), dtype=object)
        self.column = column
        self.output = output

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        ppl = np.asarray(batch[self.column], dtype=np.float64)
        # The pipeline's bucket rule for any number of cutoffs (kneser::bucket_index).
        batch[self.output] = self.labels[_kneser.bucket_indices(ppl.tolist(), self.cutoffs)]
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
    batch_size: int = _BATCH_SIZE,
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
    percentiles: Sequence[float] = _kneser.DEFAULT_PERCENTILES,
    *,
    column: str = "perplexity",
    sample: int = _kneser.DEFAULT_CALIBRATION,
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
    # numpy's 'linear' percentile rule, in the core (kneser::pipeline::percentile).
    return tuple(_kneser.percentile(ppl.tolist(), [float(q) for q in percentiles]))


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
    batch_size: int = _BATCH_SIZE,
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
        percentile_head: float = _kneser.DEFAULT_PERCENTILES[0],
        percentile_tail: float = _kneser.DEFAULT_PERCENTILES[1],
    ):
        self.scorer = kneser.CcnetScorer(lm_dir, cutoff_csv, percentile_head, percentile_tail)
        self.column = column
        self.language_column = language_column

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = [_text(t, i) for i, t in enumerate(batch[self.column])]
        n = len(texts)
        column = batch.get(self.language_column, np.full(n, None, dtype=object))
        langs = [lang if isinstance(lang, str) else None for lang in column]
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
    percentile_head: float = _kneser.DEFAULT_PERCENTILES[0],
    percentile_tail: float = _kneser.DEFAULT_PERCENTILES[1],
    keep: Sequence[str] | None = None,
    concurrency: int | tuple[int, int] = 1,
    batch_size: int = _BATCH_SIZE,
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
