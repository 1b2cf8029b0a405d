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
encode_corpus = _kneser.encode_corpus
read_lines = _kneser.read_lines
build_binary = _kneser.build_binary
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
    "read_lines",
    "train_lm",
]
