"""The exception hierarchy of kneser, rooted at :class:`KneserError`.

Each class also subclasses the built-in that fits, so ``except ValueError`` or
``except OSError`` keeps working in code that does not know kneser.
"""

from __future__ import annotations


class KneserError(Exception):
    """The base of every error kneser raises (except KeyboardInterrupt)."""


class FormatError(KneserError, ValueError):
    """Input that does not follow its format: a corrupt ARPA or binary model, invalid UTF-8,
    a special word (<s>, </s>, <unk>) in training text, a malformed vocabulary file.
    The message names the file and line."""


class DiscountError(KneserError, ValueError):
    """Modified Kneser-Ney discounts cannot be estimated for an order; the message names the
    order and suggests ``discount_fallback``."""


class ArgumentError(KneserError, ValueError):
    """An option that is out of range or inconsistent, or a memory budget too small."""


class KneserIOError(KneserError, OSError):
    """An operating-system error (permissions, a full disk); ``.errno`` is the system's error
    number (ENOSPC, EACCES, EMFILE...) and ``.filename`` the path."""

    def __str__(self) -> str:
        # The core's message names the path once; OSError's own form would repeat it.
        if len(self.args) >= 2 and isinstance(self.args[1], str):
            return self.args[1]
        return super().__str__()


class NotFoundError(KneserIOError, FileNotFoundError):
    """A path that does not exist; ``.filename`` is the path."""


class KneserMemoryError(KneserError, MemoryError):
    """The system refused memory the job asked for (a ``memory``/``-S`` budget larger than the
    machine or ``ulimit -v`` allows); temp files and partial outputs have been removed."""


class InternalError(KneserError, RuntimeError):
    """A bug in kneser (an internal invariant failed, or a panic was caught). Please report it."""


__all__ = [
    "ArgumentError",
    "DiscountError",
    "FormatError",
    "InternalError",
    "KneserError",
    "KneserIOError",
    "KneserMemoryError",
    "NotFoundError",
]
