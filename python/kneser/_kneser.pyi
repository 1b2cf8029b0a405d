"""Type stubs of the native module ``kneser._kneser`` (kept in step with the Rust docstrings)."""

import os
from collections.abc import Iterable, Sequence
from os import PathLike
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt

__version__: str

def _busy_wait(seconds: float) -> int: ...
def _raise_core_error(kind: str) -> None: ...

# --- model (scoring) ---------------------------------------------------------------------------

class State:
    """A context for word-by-word scoring (kenlm's ``State``): the recent words and their
    backoffs."""

    def __init__(self) -> None: ...
    def __len__(self) -> int: ...
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...
    def __copy__(self) -> State: ...
    def __deepcopy__(self, memo: object) -> State: ...

class Model:
    """An n-gram language model for scoring, with KenLM's numbers.

    Loads an ARPA file (KenLM's, SRILM's or kneser's; plain, .gz, .xz or .zst) or a kneser
    binary model (recognised by its magic bytes; memory-mapped, loads in milliseconds).
    """

    def __init__(self, path: str | PathLike[str]) -> None: ...
    @property
    def path(self) -> str: ...
    @property
    def order(self) -> int: ...
    @property
    def vocab_size(self) -> int: ...
    @property
    def is_binary(self) -> bool: ...
    @property
    def unk_missing(self) -> bool: ...
    def __contains__(self, word: str) -> bool: ...
    def index(self, word: str) -> int: ...
    def score(self, text: str, bos: bool = True, eos: bool = True) -> float: ...
    def full_scores(
        self, text: str, bos: bool = True, eos: bool = True
    ) -> list[tuple[float, int, bool]]: ...
    def perplexity(self, text: str) -> float: ...
    def score_batch(
        self, texts: Iterable[str], bos: bool = True, eos: bool = True
    ) -> npt.NDArray[np.float64]: ...
    def perplexity_batch(self, texts: Iterable[str]) -> npt.NDArray[np.float64]: ...
    def save_binary(self, path: str | PathLike[str]) -> None: ...
    def BeginSentenceWrite(self, state: State) -> None: ...
    def NullContextWrite(self, state: State) -> None: ...
    def BaseScore(self, in_state: State, word: str, out_state: State) -> float: ...
    def BaseFullScore(
        self, in_state: State, word: str, out_state: State
    ) -> tuple[float, int, bool]: ...
    def begin_sentence_write(self, state: State) -> None: ...
    def null_context_write(self, state: State) -> None: ...
    def base_score(self, in_state: State, word: str, out_state: State) -> float: ...
    def base_full_score(
        self, in_state: State, word: str, out_state: State
    ) -> tuple[float, int, bool]: ...
    def _query(
        self,
        inputs: list[str],
        output: str = "-",
        sentence_context: bool = True,
        words: bool = True,
        lines: bool = True,
        summary: bool = True,
    ) -> None: ...

# --- text (rust/kneser-py/src/text.rs; the text stage owns this part) --------------------------

class Tokenizer:
    """Splits text into tokens."""

    def __init__(self, mode: str = "whitespace") -> None: ...
    def tokenize(self, text: str) -> list[str]: ...

# --- vocabulary (rust/kneser-py/src/vocab.rs) ---------------------------------------------------

_Path = str | os.PathLike[str]

class Vocab:
    """A vocabulary: token <-> id maps with counts, and the tokenizer that splits text for it.

    Ids are assigned specials first (default `<unk>`, `<s>`, `</s>`, then `<pad>` if asked),
    then by count descending, ties by the token's UTF-8 bytes ascending.

    Example:
        >>> v = kneser.Vocab.build(iter(["b a b", "c b a"]))
        >>> v.tokens()
        ['<unk>', '<s>', '</s>', 'b', 'a', 'c']
        >>> v.encode("a b zz")
        array([4, 3, 0], dtype=uint32)
    """

    @staticmethod
    def build(
        source: _Path | Sequence[_Path] | Iterable[str],
        tokenizer: Tokenizer | None = None,
        min_count: int = 1,
        max_size: int | None = None,
        specials: Sequence[str] | None = None,
        pad: bool = False,
    ) -> Vocab:
        """Builds a vocabulary by counting the tokens of `source` in parallel.

        Args:
            source: a path (str or os.PathLike; plain, .gz, .xz or .zst), a list or tuple of
                paths, or any other iterable of str (one text per item, e.g. a generator or
                `iter(list_of_texts)`), pulled in batches.
            tokenizer: a `kneser.Tokenizer` (default: whitespace, lmplz's rule).
            min_count: tokens seen fewer times are left out.
            max_size: the largest vocabulary size, specials included (None: no limit).
            specials: the special tokens, ids 0, 1, ... (default `<unk>`, `<s>`, `</s>`).
            pad: append `<pad>` to the default specials.

        Raises:
            ArgumentError: an empty corpus, min_count above every count, a bad option.
            FormatError: invalid UTF-8 (naming file and line).

        Example:
            >>> v = kneser.Vocab.build("corpus.txt", min_count=2, max_size=50_000)
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
    def __contains__(self, token: object) -> bool: ...
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
    ) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]: ...
    @overload
    def encode_batch(
        self, texts: Sequence[str], unk: Literal["unk", "raise"] = "unk", *, as_list: Literal[True]
    ) -> list[npt.NDArray[np.uint32]]: ...
    def encode_batch(
        self, texts: Sequence[str], unk: Literal["unk", "raise"] = "unk", as_list: bool = False
    ) -> Any:
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
    def decode(self, ids: Sequence[int] | npt.NDArray[np.integer[Any]]) -> str:
        """The tokens of `ids` joined by single spaces.

        Args:
            ids: a sequence or numpy array of ints.

        Raises:
            ArgumentError: an id out of range.

        Example:
            >>> v.decode([4, 3, 0])
            'a b <unk>'
        """

def encode_corpus(
    paths: _Path | Sequence[_Path],
    vocab: Vocab,
    out_dir: _Path,
    dtype: Literal["auto", "uint16", "uint32"] = "auto",
    format: Literal["npy", "bin"] = "npy",
    shard_tokens: int = 100_000_000,
    eod: bool | str = True,
    unk: Literal["unk", "raise"] = "unk",
    progress: bool = False,
    prefix: str = "shard",
) -> dict[str, Any]:
    """Encodes a corpus into token-id shards for training loaders, with an `index.json`.

    One line is one document; lines without tokens are skipped; each document is followed by
    the end-of-document id. Shards hold exactly `shard_tokens` ids (the last fewer).

    Args:
        paths: a path or a list of paths (plain, .gz, .xz or .zst).
        vocab: the `kneser.Vocab` (and its tokenizer) to encode with.
        out_dir: the output directory, created if missing.
        dtype: "auto" (uint16 when the vocabulary fits, else uint32), "uint16" or "uint32".
        format: "npy" (numpy files) or "bin" (raw little-endian ids, as nanoGPT reads).
        shard_tokens: ids per shard.
        eod: True for `</s>`, a token name, or False for no end-of-document id.
        unk: "unk" or "raise" (a FormatError naming file and line).
        progress: print progress on stderr.
        prefix: shard files are named `{prefix}_000000.{format}`, ...

    Returns:
        the index (a dict, as written to `out_dir/index.json`).

    Example:
        >>> index = kneser.encode_corpus("train.txt", vocab, "shards", format="bin")
        >>> index["tokens"], [s["file"] for s in index["shards"]]
    """
