"""Type stubs of the native module ``kneser._kneser`` (kept in step with the Rust docstrings)."""

import os
from collections.abc import Iterable
from typing import Literal

__version__: str

def _busy_wait(seconds: float) -> int: ...
def _raise_core_error(kind: str) -> None: ...

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

    Example:
        >>> kneser.Normalizer(lowercase=True, digits="run", strip=True).normalize(" Tel 0123 ")
        'tel 0'
        >>> kneser.Normalizer.ccnet().normalize("Café «2024»")
        'cafe "0000"'
    """

    def __init__(
        self,
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
    ) -> None: ...
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
            text: a str (a lone surrogate in it raises kneser.FormatError).
        """
    def normalize_batch(self, texts: Iterable[str]) -> list[str]:
        """The normalized texts, in input order; computed in parallel with the GIL released.

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
            "punctuation" (whitespace splitting, each punctuation character a token).
        lowercase: lowercase each token.
        stopwords: None, "en" or "zh" (our built-in lists), a path to a file with one word
            per line, or an iterable of str. Matched exactly after lowercasing.

    Example:
        >>> kneser.Tokenizer("whitespace").tokenize("a  b")
        ['a', 'b']
        >>> kneser.Tokenizer("unicode-words", lowercase=True, stopwords="en").tokenize("The cat.")
        ['cat']
    """

    def __init__(
        self,
        mode: Literal["whitespace", "unicode-words", "cjk-chars", "punctuation"] = "whitespace",
        lowercase: bool = False,
        stopwords: str | os.PathLike[str] | Iterable[str] | None = None,
    ) -> None: ...
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
