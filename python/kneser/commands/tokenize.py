"""``kneser tokenize``: split text lines into tokens, streaming, in parallel batches."""

from __future__ import annotations

import argparse

import kneser
from kneser.commands._textio import add_io_arguments, process

MODES = ("whitespace", "unicode-words", "cjk-chars", "punctuation")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "tokenize",
        help="split text into tokens (optionally lowercased, without stopwords)",
        description=(
            "Tokenize each line (or one field of each JSON line) of the inputs. Plain text "
            "output has the tokens of each line separated by one space; JSON lines output "
            "has the field replaced by the list of tokens (or --output-field set)."
        ),
    )
    add_io_arguments(p)
    p.add_argument("--mode", choices=MODES, default="whitespace", help="the splitting rule")
    p.add_argument("--lowercase", action="store_true", help="lowercase the tokens")
    p.add_argument(
        "--stopwords",
        metavar="LIST",
        help="remove stopwords: 'en', 'zh' (built-in lists) or a file with one word a line",
    )
    p.add_argument(
        "--output-field", metavar="NAME", help="JSON lines: write the tokens to this field"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    tok = kneser.Tokenizer(args.mode, lowercase=args.lowercase, stopwords=args.stopwords)
    return process(args, tok.tokenize_batch, " ".join)
