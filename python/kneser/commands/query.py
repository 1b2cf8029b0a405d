"""``kneser query``: KenLM's ``query`` report (per word ``word=id length log10p``, per line
``Total:`` and ``OOV:``, then the perplexity summary), from stdin or files.

KenLM's flags are accepted: ``-n`` (no ``<s>``/``</s>``), ``-v summary|sentence|word`` (repeatable;
all three when absent), ``-b`` and ``-l`` (accepted for compatibility; they change nothing).
"""

from __future__ import annotations

import argparse
import sys

from kneser._kneser import Model


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "query",
        help="score text with a language model, printing KenLM's query report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", help="ARPA file (plain, .gz, .xz, .zst) or kneser binary model")
    parser.add_argument(
        "inputs", nargs="*", default=["-"], help="text files, one sentence a line (default: stdin)"
    )
    parser.add_argument(
        "-n",
        dest="sentence_context",
        action="store_false",
        help="do not wrap each line in <s> and </s>",
    )
    parser.add_argument(
        "-v",
        dest="verbosity",
        action="append",
        choices=["summary", "sentence", "word"],
        help="print at this level; repeatable (default: word, sentence and summary)",
    )
    parser.add_argument("-b", action="store_true", help="accepted for KenLM compatibility")
    parser.add_argument(
        "-l",
        dest="load",
        choices=["lazy", "populate", "read", "parallel"],
        help="accepted for KenLM compatibility (binary models are always memory-mapped)",
    )
    parser.add_argument("-o", "--output", default="-", help="output file (default: stdout)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    levels = set(args.verbosity or ["summary", "sentence", "word"])
    model = Model(args.model)
    sys.stdout.flush()
    model._query(
        args.inputs,
        output=args.output,
        sentence_context=args.sentence_context,
        words="word" in levels,
        lines="sentence" in levels,
        summary="summary" in levels,
    )
    return 0
