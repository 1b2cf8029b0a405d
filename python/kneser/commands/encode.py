"""``kneser encode``: a corpus to token-id shards (``.npy`` or nanoGPT-style ``.bin``)."""

from __future__ import annotations

import argparse
import sys

import kneser
from kneser import _kneser


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "encode",
        help="encode a corpus into token-id shards for training",
        description=(
            "Map every line of FILES (one document a line) to ids of VOCAB (or of a huggingface "
            "tokenizer.json: BPE, WordPiece, Unigram), append an end-of-document id, and write "
            "shards of --shard-tokens ids to OUT_DIR with an index.json. uint16 when the "
            "vocabulary fits, else uint32."
        ),
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="input text, one document a line")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--vocab", help="vocabulary file written by `kneser vocab`")
    src.add_argument(
        "--tokenizer",
        metavar="TOKENIZER_JSON",
        help="a huggingface tokenizers tokenizer.json (needs the tokenizers extra)",
    )
    p.add_argument("-o", "--output", required=True, metavar="OUT_DIR", help="output directory")
    defaults = _kneser.ENCODE_DEFAULTS
    p.add_argument("--dtype", choices=("auto", "uint16", "uint32"), default=defaults["dtype"])
    p.add_argument("--format", choices=("npy", "bin"), default=defaults["format"])
    p.add_argument(
        "--shard-tokens", type=int, default=defaults["shard_tokens"], help="ids per shard"
    )
    eod = p.add_mutually_exclusive_group()
    eod.add_argument("--eod", default=defaults["eod"], help="end-of-document token (default </s>)")
    eod.add_argument("--no-eod", action="store_true", help="append no end-of-document id")
    p.add_argument("--eos", help="with --tokenizer: token (or id) appended to each document")
    p.add_argument("--bos", help="with --tokenizer: token (or id) put before each document")
    p.add_argument(
        "--unk",
        choices=("unk", "raise"),
        default="unk",
        help="unknown tokens: map to <unk>, or stop with an error naming file and line",
    )
    p.add_argument("--prefix", default=defaults["prefix"], help="shard file name prefix")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress on stderr (default: when stderr is a terminal)",
    )
    p.set_defaults(func=run)


def _special(value: str | None) -> str | int | None:
    return int(value) if value is not None and value.isdigit() else value


def run(args: argparse.Namespace) -> int:
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    if args.tokenizer is not None:
        index = kneser.encode_corpus(
            files=list(args.files),
            out_dir=args.output,
            tokenizer=args.tokenizer,
            eos=_special(args.eos),
            bos=_special(args.bos),
            dtype=args.dtype,
            format=args.format,
            shard_tokens=args.shard_tokens,
            progress=progress,
            prefix=args.prefix,
        )
    else:
        if args.eos is not None or args.bos is not None:
            print("kneser encode: --eos/--bos go with --tokenizer; use --eod", file=sys.stderr)
            return 2
        index = _encode_vocab(args, progress)
    print(
        f"kneser encode: {index['documents']} documents, {index['tokens']} tokens in "
        f"{len(index['shards'])} {index['dtype']} shards -> {args.output}",
        file=sys.stderr,
    )
    return 0


def _encode_vocab(args: argparse.Namespace, progress: bool) -> dict:
    vocab = kneser.Vocab.load(args.vocab)
    return kneser.encode_corpus(
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
