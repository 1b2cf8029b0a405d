"""``kneser vocab``: build a vocabulary from text files."""

from __future__ import annotations

import argparse
import sys

import kneser
from kneser import _kneser


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "vocab",
        help="build a vocabulary (token ids by frequency) from text files",
        description=(
            "Count the whitespace-separated tokens of FILES (plain, .gz, .xz or .zst; - is "
            "stdin) and write the vocabulary: specials first, then by count descending, ties by "
            "the token's bytes. Output is JSON when its name ends in .json, else 'token TAB "
            "count' lines."
        ),
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="input text, one sentence a line")
    p.add_argument("-o", "--output", required=True, help="vocabulary file (.json or text)")
    p.add_argument("--min-count", type=int, default=1, help="drop tokens seen fewer times")
    p.add_argument(
        "--max-size", type=int, default=None, help="largest vocabulary size, specials included"
    )
    p.add_argument(
        "--specials",
        default=None,
        help="comma-separated special tokens (default: <unk>,<s>,</s>)",
    )
    p.add_argument("--pad", action="store_true", help="add <pad> after the specials")
    p.add_argument(
        "--limit-vocab",
        metavar="PATH",
        default=None,
        help="also write the ordinary tokens as a KenLM --limit_vocab_file",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    specials = args.specials.split(",") if args.specials is not None else None
    # Outputs are checked before any work (the core refuses an input as output).
    for out in (args.output, args.limit_vocab):
        if out:
            _kneser.claim_output(out, list(args.files))
    vocab = kneser.Vocab.build(
        files=list(args.files),
        min_count=args.min_count,
        max_size=args.max_size,
        specials=specials,
        pad=args.pad,
    )
    vocab.save(args.output)
    if args.limit_vocab:
        vocab.save_limit_vocab(args.limit_vocab)
    print(f"kneser vocab: {len(vocab)} tokens -> {args.output}", file=sys.stderr)
    return 0
