"""``kneser query``: KenLM's ``query`` report (per word ``word=id length log10p``, per line
``Total:`` and ``OOV:``, then the perplexity summary), from stdin or files.

KenLM's flags, with query's meaning: ``-n`` (no ``<s>``/``</s>``), ``-v summary|sentence|word``
(repeatable; all three when absent), ``-l lazy|populate|read|parallel`` (how a binary model is
brought into memory: mapped lazily, mapped and read now (the default), or copied into memory;
``parallel`` is ``read``, as KenLM now does), ``-b`` (do not buffer output: each line's report
is written and flushed as soon as the line is scored, so an interactive caller can read it
before sending the next line). The model is an ARPA file or a KenLM probing binary, recognised
by content.
"""

from __future__ import annotations

import argparse
import sys

from kneser._kneser import Config, LoadMethod, Model

LOAD_METHODS = {
    "lazy": LoadMethod.LAZY,
    "populate": LoadMethod.POPULATE_OR_READ,
    "read": LoadMethod.READ,
    "parallel": LoadMethod.PARALLEL_READ,
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "query",
        help="score text with a language model, printing KenLM's query report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", help="ARPA file (plain, .gz, .xz, .zst) or KenLM probing binary")
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
    parser.add_argument(
        "-b",
        dest="unbuffered",
        action="store_true",
        help="do not buffer output: flush each line's report as soon as it is scored",
    )
    parser.add_argument(
        "-l",
        dest="load",
        choices=["lazy", "populate", "read", "parallel"],
        help="load method of a binary model: lazy, populate (default), read, parallel (= read)",
    )
    parser.add_argument("-o", "--output", default="-", help="output file (default: stdout)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    levels = set(args.verbosity or ["summary", "sentence", "word"])
    config = Config()
    if args.load:
        config.load_method = LOAD_METHODS[args.load]
    model = Model(args.model, config)
    sys.stdout.flush()
    model._query(
        args.inputs,
        output=args.output,
        sentence_context=args.sentence_context,
        words="word" in levels,
        lines="sentence" in levels,
        summary="summary" in levels,
        flush=args.unbuffered,
    )
    return 0
