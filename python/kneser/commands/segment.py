"""``kneser segment``: Chinese word segmentation with a jieba-format dictionary.

Plain text: each input line becomes one output line, its words joined by the delimiter (the
work is done in Rust, in parallel batches). JSON lines (``--jsonl``): the string in ``--field``
of each object is replaced by its segmented form (or written to ``--output-field``).
"""

from __future__ import annotations

import argparse

import kneser
from kneser._errors import ArgumentError
from kneser.commands._textio import process

# Lines of JSON segmented per parallel batch.
JSONL_BATCH = 4096


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "segment",
        help="segment Chinese text into words (jieba's algorithm, HMM off)",
        description="Segment Chinese text into words with a jieba-format dictionary, as "
        "jieba.cut(text, HMM=False) does (or jieba's full mode with --cut-all).",
    )
    p.add_argument(
        "inputs",
        nargs="*",
        default=["-"],
        metavar="INPUT",
        help="input files (plain, gz, xz; zst for plain text); '-' or none for stdin",
    )
    p.add_argument("-o", "--output", default="-", help="output file ('-' for stdout, the default)")
    p.add_argument(
        "--dict",
        metavar="PATH",
        help="dictionary in jieba's format (word freq [tag] a line); "
        "default: the dict.txt of the installed jieba package",
    )
    p.add_argument(
        "--user-dict",
        metavar="PATH",
        action="append",
        default=[],
        help="user dictionary in jieba's load_userdict format (repeatable)",
    )
    p.add_argument("--delimiter", default=" ", help="written between words (default: a space)")
    p.add_argument("--cut-all", action="store_true", help="jieba's full mode (overlapping words)")
    p.add_argument(
        "--drop-whitespace",
        action="store_true",
        help="leave out words that are empty or only whitespace (jieba keeps each space as a "
        "word, and yields empty strings in full mode)",
    )
    p.add_argument("--jsonl", action="store_true", help="input and output are JSON lines")
    p.add_argument("--field", default="text", help="with --jsonl: the field to segment")
    p.add_argument(
        "--output-field",
        metavar="NAME",
        help="with --jsonl: where to write the result (default: replace --field)",
    )
    p.set_defaults(func=run)


def _segmenter(args: argparse.Namespace) -> kneser.Segmenter:
    if args.dict is not None:
        seg = kneser.Segmenter.from_dict(args.dict)
    else:
        try:
            seg = kneser.Segmenter.jieba_default()
        except FileNotFoundError as err:
            raise ArgumentError(
                "no dictionary: pass --dict PATH (a jieba-format dict.txt) or install jieba"
            ) from err
    for path in args.user_dict:
        seg.load_userdict(path)
    return seg


def run(args: argparse.Namespace) -> int:
    seg = _segmenter(args)
    if args.jsonl:
        _run_jsonl(seg, args)
    else:
        seg.cut_file(
            args.inputs,
            args.output,
            cut_all=args.cut_all,
            delimiter=args.delimiter,
            drop_whitespace=args.drop_whitespace,
        )
    return 0


def _run_jsonl(seg: kneser.Segmenter, args: argparse.Namespace) -> None:
    def segment(texts: list[str]) -> list[str]:
        out = []
        for words in seg.cut_batch(texts, cut_all=args.cut_all):
            if args.drop_whitespace:
                words = [w for w in words if w and not w.isspace()]
            out.append(args.delimiter.join(words))
        return out

    args.batch_size = JSONL_BATCH
    process(args, segment, str)
