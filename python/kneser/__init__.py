"""kneser: corpus preprocessing and modified Kneser-Ney language models, with a Rust core.

Text cleaning, word segmentation and tokenization, stopword removal, vocabulary id mapping,
n-gram counting, KenLM-compatible language-model estimation and scoring.
"""

from __future__ import annotations

from kneser import _kneser
from kneser._errors import (
    ArgumentError,
    DiscountError,
    FormatError,
    InternalError,
    KneserError,
    KneserIOError,
    NotFoundError,
)
from kneser._kneser import Model, State

__version__: str = _kneser.__version__
estimate = _kneser.estimate
count = _kneser.count

Vocab = _kneser.Vocab
encode_corpus = _kneser.encode_corpus

__all__ = [
    "ArgumentError",
    "DiscountError",
    "FormatError",
    "InternalError",
    "KneserError",
    "KneserIOError",
    "Model",
    "NotFoundError",
    "State",
    "Vocab",
    "__version__",
    "count",
    "encode_corpus",
    "estimate",
]
