"""kneser: corpus preprocessing and modified Kneser-Ney language models, with a Rust core.

Text cleaning, word segmentation and tokenization, stopword removal, vocabulary id mapping,
n-gram counting, KenLM-compatible language-model estimation and scoring.
"""

from __future__ import annotations

import os
from typing import Any

from kneser import _kneser
from kneser._errors import (
    ArgumentError,
    DiscountError,
    FormatError,
    InternalError,
    KneserError,
    KneserIOError,
    KneserMemoryError,
    NotFoundError,
)
from kneser._kneser import (
    ARPALoadComplain,
    CcnetScorer,
    Config,
    FullScoreReturn,
    LoadMethod,
    Model,
    Normalizer,
    SentencePiece,
    State,
    Tokenizer,
)

__version__: str = _kneser.__version__
DEFAULT_MEMORY: int = _kneser.DEFAULT_MEMORY  # the sort budget when none is given (1 GiB)
estimate = _kneser.estimate
count = _kneser.count
explain = _kneser.explain

Segmenter = _kneser.Segmenter
Vocab = _kneser.Vocab
_UNSET: Any = object()


def encode_corpus(
    source: Any = None,
    vocab: Any = None,
    out_dir: Any = None,
    dtype: str = _kneser.ENCODE_DEFAULTS["dtype"],
    format: str = _kneser.ENCODE_DEFAULTS["format"],
    shard_tokens: int = _kneser.ENCODE_DEFAULTS["shard_tokens"],
    eod: Any = _UNSET,
    unk: Any = _UNSET,
    progress: bool = False,
    prefix: str = _kneser.ENCODE_DEFAULTS["prefix"],
    *,
    files: Any = None,
    texts: Any = None,
    tokenizer: Any = None,
    eos: Any = None,
    bos: Any = None,
    add_special_tokens: bool = True,
) -> dict[str, Any]:
    """Encodes a corpus into token-id shards for training loaders, with an ``index.json``.

    Two encoders, one shard writer (the core's: ``.npy`` or nanoGPT ``.bin``, uint16 when the
    vocabulary has at most 65,536 ids else uint32, every file written atomically):

    - ``vocab=`` a :class:`kneser.Vocab`: kneser's word-level ids; ``eod`` (default ``</s>``)
      and ``unk`` as documented in ``kneser._kneser.encode_corpus``.
    - ``tokenizer=`` a huggingface ``tokenizers.Tokenizer`` or a ``tokenizer.json`` path (BPE,
      WordPiece, Unigram, ...; the ``tokenizers`` extra): documents are encoded in batches with
      the tokenizer's own parallel ``encode_batch`` (``add_special_tokens`` passed on), then
      ``bos=`` is put before and ``eos=`` after each (a token of the tokenizer or an int id; an
      unknown token is a ValueError). ``out_dir`` may then be the second positional argument.

    The corpus is named once: a positional path, ``files=`` or ``texts=``. One line (one item
    of ``texts``) is one document; documents without ids are skipped (``empty_lines``).

    Example:
        >>> index = kneser.encode_corpus("corpus.txt", "shards/", tokenizer=tok, eos="[EOS]")
        >>> index = kneser.encode_corpus("train.txt", vocab, "shards", format="bin")
    """
    if tokenizer is None:
        if eos is not None or bos is not None:
            raise TypeError(
                "encode_corpus: eos=/bos= go with tokenizer=; with a Vocab use eod= (a token)"
            )
        extra: dict[str, Any] = {}
        if eod is not _UNSET:
            extra["eod"] = eod
        if unk is not _UNSET:
            extra["unk"] = unk
        return _kneser.encode_corpus(
            source, vocab, out_dir, dtype=dtype, format=format, shard_tokens=shard_tokens,
            progress=progress, prefix=prefix, files=files, texts=texts, **extra,
        )  # fmt: skip
    if eod is not _UNSET or unk is not _UNSET:
        raise TypeError(
            "encode_corpus: with tokenizer= name the end-of-document id as eos= (and a start "
            "id as bos=); eod= and unk= belong to the Vocab path"
        )
    if vocab is not None:
        if out_dir is None and isinstance(vocab, (str, os.PathLike)):
            out_dir, vocab = vocab, None
        else:
            raise TypeError("encode_corpus: give tokenizer= or vocab=, not both")
    if out_dir is None:
        raise TypeError("encode_corpus() missing required argument: 'out_dir'")
    kind, corpus = _kneser.resolve_corpus("encode_corpus", source, files, texts)
    from ._hf import encode_corpus_hf

    return encode_corpus_hf(
        tokenizer,
        out_dir,
        files=corpus if kind == "files" else None,
        texts=corpus if kind == "texts" else None,
        eos=eos,
        bos=bos,
        add_special_tokens=add_special_tokens,
        dtype=dtype,
        format=format,
        shard_tokens=shard_tokens,
        progress=progress,
        prefix=prefix,
    )


def read_lines(
    path: str | os.PathLike[str],
    batch_size: int = _kneser.DEFAULT_LINE_BATCH,
    errors: str = "strict",
    *,
    column: str = "text",
) -> Any:
    """Batches of ``(line_number, text)`` from a plain, gz, xz, zst or bz2 file ("-" is stdin),
    the text without its newline; see ``kneser._kneser.read_lines`` for ``errors``.

    A Parquet file (recognised by its ``PAR1`` magic, not its name; the ``parquet`` extra) gives
    ``(row_number, text)`` of its ``column``, read one record batch at a time; a null is None.

    Example:
        >>> for batch in kneser.read_lines("docs.parquet", column="text"):
        ...     for number, text in batch: ...
    """
    from . import _arrow

    if _kneser.is_parquet(path):
        return _arrow.text_batches(path, batch_size, column)
    return _kneser.read_lines(path, batch_size, errors)


build_binary = _kneser.build_binary
memory_estimate = _kneser.memory_estimate
OutputFile = _kneser.OutputFile
claim_output = _kneser.claim_output


class LanguageModel(Model):
    """Backwards compatibility name of `Model`, as in the kenlm module (a subclass there too)."""


from kneser.pipeline import Pipeline, Report, train_lm  # noqa: E402 (needs the names above)

__all__ = [
    "DEFAULT_MEMORY",
    "ARPALoadComplain",
    "ArgumentError",
    "CcnetScorer",
    "Config",
    "DiscountError",
    "FormatError",
    "FullScoreReturn",
    "InternalError",
    "KneserError",
    "KneserIOError",
    "KneserMemoryError",
    "LanguageModel",
    "LoadMethod",
    "Model",
    "Normalizer",
    "NotFoundError",
    "OutputFile",
    "Pipeline",
    "Report",
    "Segmenter",
    "SentencePiece",
    "State",
    "Tokenizer",
    "Vocab",
    "__version__",
    "build_binary",
    "claim_output",
    "count",
    "encode_corpus",
    "estimate",
    "explain",
    "memory_estimate",
    "read_lines",
    "train_lm",
]
