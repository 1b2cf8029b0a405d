"""``kneser encode``: a corpus to token-id shards (``.npy`` or nanoGPT-style ``.bin``)."""

from __future__ import annotations

import argparse
import sys

import kneser


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "encode",
        help="encode a corpus into token-id shards for training",
        description=(
            "Map every line of FILES (one document a line) to ids of VOCAB, append an "
            "end-of-document id, and write shards of --shard-tokens ids to OUT_DIR with an "
            "index.json. uint16 when the vocabulary fits, else uint32."
        ),
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="input text, one document a line")
    p.add_argument("--vocab", required=True, help="vocabulary file written by `kneser vocab`")
    p.add_argument("-o", "--output", required=True, metavar="OUT_DIR", help="output directory")
    p.add_argument("--dtype", choices=("auto", "uint16", "uint32"), default="auto")
    p.add_argument("--format", choices=("npy", "bin"), default="npy")
    p.add_argument("--shard-tokens", type=int, default=100_000_000, help="ids per shard")
    eod = p.add_mutually_exclusive_group()
    eod.add_argument("--eod", default="</s>", help="end-of-document token (default </s>)")
    eod.add_argument("--no-eod", action="store_true", help="append no end-of-document id")
    p.add_argument(
        "--unk",
        choices=("unk", "raise"),
        default="unk",
        help="unknown tokens: map to <unk>, or stop with an error naming file and line",
    )
    p.add_argument("--prefix", default="shard", help="shard file name prefix")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress on stderr (default: when stderr is a terminal)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    vocab = kneser.Vocab.load(args.vocab)
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    index = kneser.encode_corpus(
        files=list(args.files),
        vocab=vocab,
        out_dir=args.output,
        dtype=args.dtype,
        format=args.format,
        shard_tokens=args.shard_tokens,
        eod=False if args.no_eod else args.eod,
        unk=args.unk,
        progress=progress,
        prefix=args.prefix,
    )
    print(
        f"kneser encode: {index['documents']} documents, {index['tokens']} tokens in "
        f"{len(index['shards'])} {index['dtype']} shards -> {args.output}",
        file=sys.stderr,
    )
    return 0
