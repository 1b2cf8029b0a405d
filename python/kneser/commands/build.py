"""``kneser build``: estimate an ARPA model, with lmplz's flag spellings as aliases.

A KenLM user can switch by renaming the command::

    lmplz  -o 5 -S 2G -T /tmp --prune 0 1 1 < corpus.txt > lm.arpa
    kneser build -o 5 -S 2G -T /tmp --prune 0 1 1 < corpus.txt > lm.arpa
"""

from __future__ import annotations

import argparse
import json
import sys

import kneser
from kneser import _kneser
from kneser.commands._memory import add_sort_options


def _bool01(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected 0 or 1, got {text!r}")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "build",
        help="estimate a modified Kneser-Ney model (lmplz-compatible flags)",
        description="Estimate a modified Kneser-Ney language model and write it as ARPA. "
        "Accepts lmplz's flags: -o, -S, -T, --prune, --discount_fallback, --limit_vocab_file, "
        "--interpolate_unigrams, --vocab_pad, --skip_symbols, --text, --arpa.",
    )
    p.add_argument("inputs", nargs="*", help="text files (plain, .gz, .xz, .zst); default stdin")
    p.add_argument("--text", action="append", default=[], help="input file (lmplz spelling)")
    p.add_argument("-o", "--order", type=int, required=True, help="order of the model")
    p.add_argument("--arpa", "--output", dest="arpa", default="-", help="ARPA output (stdout)")
    add_sort_options(p)
    p.add_argument("--prune", type=int, nargs="+", default=None, help="prune thresholds per order")
    p.add_argument(
        "--discount_fallback",
        "--discount-fallback",
        dest="discount_fallback",
        type=float,
        nargs="*",
        default=None,
        help="fallback discounts D1 D2 D3+ (default 0.5 1 1.5) for orders that cannot be estimated",
    )
    p.add_argument(
        "--limit_vocab_file",
        "--limit-vocab",
        dest="limit_vocab",
        default=None,
        help="prune n-grams holding words outside this list",
    )
    p.add_argument(
        "--interpolate_unigrams",
        "--interpolate-unigrams",
        dest="interpolate_unigrams",
        type=_bool01,
        nargs="?",
        const=True,
        default=True,
        help="interpolate unigrams with the uniform distribution (1, default) or not (0)",
    )
    p.add_argument("--vocab_pad", "--vocab-pad", dest="vocab_pad", type=int, default=0)
    p.add_argument(
        "--skip_symbols",
        "--skip-symbols",
        dest="skip_symbols",
        action="store_true",
        help="treat <s>, </s>, <unk> in the text as whitespace",
    )
    p.add_argument(
        "--replace-invalid-utf8",
        action="store_true",
        help="replace invalid UTF-8 instead of failing with the line number",
    )
    p.add_argument(
        "--close-final-line",
        action="store_true",
        help="give text after the last newline a </s> (lmplz does not)",
    )
    p.add_argument(
        "--binary",
        default=None,
        help="also write KenLM's binary model here (build_binary's bytes); with no --arpa, only "
        "it, straight from estimation",
    )
    p.add_argument(
        "--binary-format",
        choices=["probing", "trie"],
        default="probing",
        help="the --binary layout: probing (default) or trie",
    )
    p.add_argument("--binary-q", type=int, default=None, help="trie: probability bits (-q)")
    p.add_argument("--binary-b", type=int, default=None, help="trie: backoff bits (-b)")
    p.add_argument("--binary-a", type=int, default=None, help="trie: pointer array bits (-a)")
    p.add_argument(
        "--from-counts",
        nargs="+",
        default=None,
        metavar="COUNTS",
        help="estimate from count files written by `kneser count` (shards, in corpus order)",
    )
    _lmplz_only(p)
    _common_tail(p)
    p.set_defaults(func=run)

    c = sub.add_parser(
        "count",
        help="count n-grams into a count file (for sharded counting)",
        description="Count the order-N windows of a corpus (or one shard of it) into a binary "
        "count file. `kneser build --from-counts a.counts b.counts ...` merges the files of "
        "several shards into exactly the model of their concatenation.",
    )
    c.add_argument("inputs", nargs="*", help="text files (plain, .gz, .xz, .zst); default stdin")
    c.add_argument("--text", action="append", default=[], help="input file (lmplz spelling)")
    c.add_argument("-o", "--order", type=int, required=True, help="order of the model")
    c.add_argument("-O", "--output", required=True, help="count file to write")
    add_sort_options(c)
    c.add_argument("--skip_symbols", "--skip-symbols", dest="skip_symbols", action="store_true")
    c.add_argument("--replace-invalid-utf8", action="store_true")
    c.add_argument("--close-final-line", action="store_true")
    _common_tail(c)
    c.set_defaults(func=run_count)


def _lmplz_only(p: argparse.ArgumentParser) -> None:
    """The rest of `lmplz --help`, with lmplz's meaning."""
    hints = p.add_argument_group(
        "lmplz memory-plan hints",
        "accepted for lmplz command lines; kneser's sorter sizes its buffers from -S alone and "
        "its vocabulary grows as needed, so these change nothing in the output",
    )
    hints.add_argument("--vocab_estimate", type=int, default=None, metavar="N")
    hints.add_argument("--minimum_block", default=None, metavar="SIZE")
    hints.add_argument("--sort_block", default=None, metavar="SIZE")
    hints.add_argument("--block_count", type=int, default=None, metavar="N")
    p.add_argument(
        "--verbose_header",
        action="store_true",
        help="start the ARPA with lmplz's comment lines (input file, token count, smoothing)",
    )
    p.add_argument(
        "--collapse_values",
        action="store_true",
        help="write q, probability and backoff collapsed into one value (lmplz's meaning)",
    )
    p.add_argument(
        "--renumber",
        action="store_true",
        help="number the vocabulary in hash order of the words, as lmplz (orders the n-grams)",
    )
    p.add_argument(
        "--intermediate",
        default=None,
        help="lmplz's intermediate n-gram files; not supported (error): kneser writes ARPA",
    )


def _refuse_unsupported(args: argparse.Namespace) -> None:
    for name, value in (("vocab_estimate", args.vocab_estimate), ("block_count", args.block_count)):
        if value is not None and value < 1:
            raise SystemExit(f"kneser build: --{name} must be at least 1, got {value}")
    if args.intermediate is not None:
        raise SystemExit(
            "kneser build: --intermediate is not supported: lmplz's intermediate files are its "
            "internal binary n-gram streams (for its own interpolation tools), which kneser does "
            "not write; use --arpa, or `kneser count` for shard files"
        )


def _common_tail(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, default=0, help="worker threads (default: all cores)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--summary", action="store_true", help="print a JSON summary on stderr")


def run_count(args: argparse.Namespace) -> int:
    inputs = list(args.inputs) + list(args.text) or ["-"]
    summary = kneser.count(
        files=inputs,
        order=args.order,
        output=args.output,
        memory=args.memory,
        temp_dir=args.temp_dir,
        skip_symbols=args.skip_symbols,
        replace_invalid_utf8=args.replace_invalid_utf8,
        lmplz_final_line=not args.close_final_line,
        threads=args.threads,
        verbose=not args.quiet,
    )
    if args.summary:
        print(json.dumps(summary), file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    _refuse_unsupported(args)
    inputs = list(args.inputs) + list(args.text)
    if args.from_counts:
        if inputs:
            raise SystemExit("kneser build: give text inputs or --from-counts, not both")
        source = None
    else:
        source = inputs or ["-"]
    fallback = args.discount_fallback
    if fallback is not None and len(fallback) == 0:
        fallback = True
    arpa = args.arpa
    binary_options = {
        "layout": args.binary_format,
        "quantize": args.binary_q,
        "backoff_bits": args.binary_b,
        "array_bits": args.binary_a,
    }
    if args.binary:
        # Checked before any work, as the ARPA output is by the core.
        _kneser.claim_output(args.binary, inputs)
    if args.binary and arpa == "-":
        # Straight from estimation to the binary file: no ARPA file is written.
        summary = _estimate(args, source, fallback, None, binary=args.binary, **binary_options)
    else:
        summary = _estimate(args, source, fallback, arpa)
        if args.binary:
            kneser.Model(arpa).save_binary(args.binary, **binary_options)
    if args.summary:
        print(json.dumps(summary), file=sys.stderr)
    return 0


def _estimate(
    args: argparse.Namespace, source, fallback, arpa: str | None, binary=None, **binary_options
) -> dict:
    extra = {}
    if binary is not None:
        layout = binary_options.pop("layout")
        extra = {"binary": binary, "binary_layout": layout, **binary_options}
    return kneser.estimate(
        **extra,
        files=source,
        order=args.order,
        arpa=arpa,
        from_counts=args.from_counts,
        memory=args.memory,
        temp_dir=args.temp_dir,
        discount_fallback=fallback,
        prune=args.prune,
        limit_vocab=args.limit_vocab,
        interpolate_unigrams=args.interpolate_unigrams,
        vocab_pad=args.vocab_pad,
        skip_symbols=args.skip_symbols,
        replace_invalid_utf8=args.replace_invalid_utf8,
        lmplz_final_line=not args.close_final_line,
        threads=args.threads,
        verbose=not args.quiet,
        verbose_header=args.verbose_header,
        collapse_values=args.collapse_values,
        renumber=args.renumber,
    )
