"""Type stubs of the native module ``kneser._kneser`` (kept in step with the Rust docstrings)."""

import os

import numpy as np
import numpy.typing as npt

__version__: str

def _busy_wait(seconds: float) -> int: ...
def _raise_core_error(kind: str) -> None: ...

# The partitioned merge of count files (used by kneser.ray).

def merge_vocabularies(
    shards: list[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    temp_dir: str | os.PathLike[str] | None = None,
) -> dict[str, int]:
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
    shards: list[str | os.PathLike[str]],
    vocabulary: str | os.PathLike[str],
    lo: int,
    hi: int,
    output: str | os.PathLike[str],
    *,
    memory: int | str | None = None,
    temp_dir: str | os.PathLike[str] | None = None,
    threads: int = 0,
) -> dict[str, int]:
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
