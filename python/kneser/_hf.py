"""Huggingface ``tokenizers`` at both ends of kneser's shards.

- :func:`encode_corpus_hf`: a corpus to token-id shards through any ``tokenizers.Tokenizer``
  (BPE, WordPiece, Unigram, ...). The tokenizer's own parallel ``encode_batch`` splits the text;
  its ``Encoding`` objects go as they are to the core's one shard writer
  (``_kneser.ShardSink.write_encodings``: each one's ids copied once into the batch, no Python
  lists or arrays in between; the same ``.npy`` / ``.bin`` files, uint16/uint32 rule, atomic
  writes and ``index.json`` as the ``Vocab`` path). Memory: one batch of :data:`BATCH_DOCS`
  documents and their encodings, whatever the corpus size.
- :func:`vocab_to_tokenizers`: a kneser ``Vocab`` as a ``tokenizers`` WordLevel tokenizer.

``tokenizers`` is an optional extra (``pip install kneser[tokenizers]``); it is imported only
here, when one of these is called.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from . import _kneser
from ._errors import ArgumentError, FormatError

#: Documents handed to ``encode_batch`` at once.
BATCH_DOCS = 8192


def _tokenizers() -> Any:
    try:
        import tokenizers
    except ImportError as e:
        raise ImportError(
            "this needs huggingface tokenizers, an optional extra: pip install 'kneser[tokenizers]'"
        ) from e
    return tokenizers


def load_tokenizer(tokenizer: Any) -> Any:
    """A ``tokenizers.Tokenizer`` as given, or loaded from a ``tokenizer.json`` path."""
    tk = _tokenizers()
    if isinstance(tokenizer, tk.Tokenizer):
        return tokenizer
    if isinstance(tokenizer, (str, os.PathLike)):
        path = os.fspath(tokenizer)
        if not os.path.exists(path):
            raise FileNotFoundError(f"tokenizer file {path!r} not found")
        try:
            return tk.Tokenizer.from_file(path)
        except Exception as e:
            raise FormatError(f"{path}: not a tokenizers tokenizer.json ({e})") from e
    raise TypeError(
        f"tokenizer= takes a tokenizers.Tokenizer or a tokenizer.json path, "
        f"got {type(tokenizer).__name__}"
    )


def special_id(tokenizer: Any, value: Any, name: str) -> tuple[str, int] | None:
    """``(token, id)`` of an ``eos=``/``bos=`` value: a token of the tokenizer or an int id."""
    if value is None:
        return None
    size = tokenizer.get_vocab_size(with_added_tokens=True)
    if isinstance(value, bool):
        raise TypeError(f"{name}= takes a token string or an int id, got a bool")
    if isinstance(value, (int, np.integer)):
        i = int(value)
        if not 0 <= i < size:
            raise ArgumentError(f"{name}={i} is not an id of the tokenizer (0 to {size - 1})")
        token = tokenizer.id_to_token(i)
        return (token if token is not None else str(i), i)
    if isinstance(value, str):
        i = tokenizer.token_to_id(value)
        if i is None:
            raise ArgumentError(
                f"{name}={value!r} is not a token of the tokenizer; add it (e.g. as a special "
                f"token when training) or give its id"
            )
        return (value, int(i))
    raise TypeError(f"{name}= takes a token string or an int id, got {type(value).__name__}")


def unk_id(tokenizer: Any) -> int | None:
    """The id of the tokenizer's unknown token, or None when its model has none (byte-level
    BPE, ...): ``model.unk_token`` (BPE, WordPiece, WordLevel) or a Unigram model's
    ``unk_id`` (only in its serialized form)."""
    token = getattr(tokenizer.model, "unk_token", None)
    if token:
        i = tokenizer.token_to_id(token)
        return None if i is None else int(i)
    if type(tokenizer.model).__name__ == "Unigram":
        import json

        i = json.loads(tokenizer.to_str()).get("model", {}).get("unk_id")
        return None if i is None else int(i)
    return None


def _text_batches(
    files: list[str] | None, texts: Iterable[str] | None
) -> Iterator[tuple[int, list[str]]]:
    """``(source index, documents)`` batches of files (via ``read_lines``) or of texts."""
    if files is not None:
        for i, path in enumerate(files):
            pending: list[str] = []
            for batch in _kneser.read_lines(path, BATCH_DOCS):
                pending.extend(text for _, text in batch if text is not None)
                if len(pending) >= BATCH_DOCS:
                    yield i, pending
                    pending = []
            if pending:
                yield i, pending
        return
    assert texts is not None
    pending = []
    for n, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts= item {n} is {type(text).__name__}, not str")
        pending.append(text)
        if len(pending) >= BATCH_DOCS:
            yield 0, pending
            pending = []
    if pending:
        yield 0, pending


def encode_corpus_hf(
    tokenizer: Any,
    out_dir: str | os.PathLike[str],
    *,
    files: list[str] | None = None,
    texts: Iterable[str] | None = None,
    eos: Any = None,
    bos: Any = None,
    add_special_tokens: bool,
    dtype: str,
    format: str,
    shard_tokens: int,
    progress: bool,
    prefix: str,
) -> dict[str, Any]:
    """Encodes documents (lines of ``files`` or items of ``texts``) with a huggingface tokenizer
    into shards; see ``kneser.encode_corpus``, whose defaults the options are. Documents with no
    id (before bos/eos) are skipped and counted as ``empty_lines``; occurrences of the
    tokenizer's unknown token (see :func:`unk_id`) are counted as ``unk_tokens``."""
    tok = load_tokenizer(tokenizer)
    eos_t = special_id(tok, eos, "eos")
    bos_t = special_id(tok, bos, "bos")
    sources = list(files) if files is not None else ["<texts>"]
    sink = _kneser.ShardSink(
        os.fspath(out_dir),
        tok.get_vocab_size(with_added_tokens=True),
        eod_token=eos_t[0] if eos_t else None,
        eod_id=eos_t[1] if eos_t else None,
        dtype=dtype,
        format=format,
        shard_tokens=shard_tokens,
        progress=progress,
        prefix=prefix,
        sources=sources,
        unk_id=unk_id(tok),
    )
    bos_id = bos_t[1] if bos_t else None
    eos_id = eos_t[1] if eos_t else None
    for source_index, docs in _text_batches(files, texts):
        sink.write_encodings(
            tok.encode_batch(docs, add_special_tokens=add_special_tokens),
            bos=bos_id,
            eos=eos_id,
            source_index=source_index,
        )
    return sink.finish()


def vocab_to_tokenizers(vocab: Any) -> Any:
    """A ``tokenizers.Tokenizer`` (WordLevel model) with ``vocab``'s ids and unknown token.

    Pre-tokenizer: a ``Split`` on runs of lmplz's five separators (space, tab, CR, LF, NUL),
    removed: the same tokens as kneser's default (whitespace) tokenizer, so ``encode(text).ids``
    equals ``vocab.encode(text)``. Differences: a vocabulary built with another kneser tokenizer
    (a segmenter, unicode words) keeps its ids, but the export only splits on whitespace; and
    WordLevel needs an unknown token, so a vocabulary without ``<unk>`` is refused.
    """
    tk = _tokenizers()
    from tokenizers import Regex
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Split

    unk_id = vocab.unk_id
    if unk_id is None:
        raise ArgumentError(
            "the vocabulary has no unknown token; WordLevel needs one to map unknown words"
        )
    t = tk.Tokenizer(WordLevel(vocab=vocab.get_vocab(), unk_token=vocab.id_to_token(unk_id)))
    separators = "".join(f"\\x{ord(c):02x}" for c in _kneser.LMPLZ_SEPARATORS)
    t.pre_tokenizer = Split(Regex(f"[{separators}]+"), behavior="removed")
    return t


def save_tokenizer_json(vocab: Any, path: str | os.PathLike[str]) -> None:
    """Writes ``vocab_to_tokenizers(vocab)`` to ``path`` as a ``tokenizer.json``, atomically."""
    text = vocab_to_tokenizers(vocab).to_str(pretty=True)
    with _kneser.OutputFile(os.fspath(path)) as f:
        f.write(text.encode("utf-8"))
