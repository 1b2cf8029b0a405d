"""``kneser build-binary``: KenLM's ``build_binary``, writing the same bytes.

``kneser build-binary [-q bits] [-b bits] [-a bits] [-p mult] [-v] [-i] [-u log10p]
[-w mmap|after] [-T dir] [-S mem] [probing|trie] model.arpa out.bin`` writes KenLM's binary
format (version 5), probing or trie, byte for byte what ``build_binary`` writes for the same ARPA
and flags. ``kneser.Model``, ``kneser query``, the kenlm module and KenLM's ``query`` load it.

Flags, with build_binary's meaning: ``-p`` probing multiplier (buckets per entry, default 1.5);
``-v`` leave out the vocabulary strings; ``-i`` map positive log10 probabilities to 0 instead of
refusing the file; ``-u`` log10 p of ``<unk>`` when the ARPA has none (default -100). ``-w``
(how build_binary writes: through a mapping or after building), ``-T`` and ``-S`` (the trie's
temporary files and sort memory) do not change the bytes and are accepted. Trie only: ``-q``
probability quantization bits, ``-b`` backoff bits (default ``-q``'s), ``-a`` the most bits the
pointer offsets array may chop (KenLM picks the count that minimizes the size; 255: no limit).
``-s`` builds a model whose ARPA lacks ``<s>`` or ``</s>`` (KenLM: "allows models to be built
even if they do not have <s> and </s>"): the missing word is scored as ``<unk>``, in kneser as
in KenLM, which loads such a binary without a check. An ARPA whose n-grams lack their suffixes
(SRILM's pruning) gets KenLM's blank entries in either layout.

``kneser build-binary [-p mult] [-q bits] [-b bits] [-a bits] model.arpa``, with no output
file, prints build_binary's memory estimate to stderr: the bytes each layout would take for the
ARPA's counts (read from its ``\\data\\`` header alone), as build_binary prints them.
"""

from __future__ import annotations

import argparse
import sys

import kneser


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "build-binary",
        help="convert an ARPA file to KenLM's binary format (build_binary's flags and bytes)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # Flags not given are None: the core fills in build_binary's defaults.
    parser.add_argument("-p", dest="multiplier", type=float, help="probing multiplier")
    parser.add_argument("-v", dest="no_vocab", action="store_true", help="no vocabulary strings")
    parser.add_argument("-i", dest="map_positive", action="store_true", help="positive p -> 0")
    parser.add_argument("-u", dest="unknown", type=float, help="log10 p of <unk>")
    parser.add_argument(
        "-s", dest="skip_specials", action="store_true", help="allow a model without <s> or </s>"
    )
    parser.add_argument("-q", dest="prob_bits", type=int, help="trie: probability bits")
    parser.add_argument("-b", dest="backoff_bits", type=int, help="trie: backoff bits")
    parser.add_argument("-a", dest="pointer_bits", type=int, help="trie: pointer array bits")
    parser.add_argument("-w", dest="write", choices=["mmap", "after"], default="mmap")
    parser.add_argument("-T", dest="temp", help="temporary directory (the trie's; accepted)")
    parser.add_argument("-S", dest="memory", help="sort memory (the trie's; accepted)")
    parser.add_argument("args", nargs="+", metavar="[probing|trie] model.arpa [out.bin]")
    parser.set_defaults(func=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    rest = list(args.args)
    if args.backoff_bits is not None and args.prob_bits is None:
        args.parser.error("backoff quantization (-b) needs probability quantization (-q)")
    if len(rest) == 1:
        # build_binary's memory estimate: no output file, the table on stderr, status 0; the
        # core fills in the flags not given.
        estimate = kneser.memory_estimate(
            rest[0],
            probing_multiplier=args.multiplier,
            prob_bits=args.prob_bits,
            backoff_bits=args.backoff_bits,
            array_bits=args.pointer_bits,
        )
        sys.stderr.write(estimate)
        return 0
    layout = "probing"
    if len(rest) == 3:
        layout = rest.pop(0)
    if len(rest) != 2:
        args.parser.error("expected [probing|trie] model.arpa out.bin")
    if layout not in ("probing", "trie"):
        args.parser.error(f"unknown data structure {layout!r}: expected probing or trie")
    if layout == "probing" and (args.prob_bits is not None or args.backoff_bits is not None):
        args.parser.error("quantization (-q, -b) is only implemented in the trie layout")
    arpa, out = rest
    kneser.build_binary(
        arpa,
        out,
        probing_multiplier=args.multiplier,
        include_vocab=not args.no_vocab,
        map_positive=args.map_positive,
        unknown_log10p=args.unknown,
        layout=layout,
        quantize=args.prob_bits,
        backoff_bits=args.backoff_bits,
        array_bits=args.pointer_bits if layout == "trie" else None,
        allow_missing_markers=args.skip_specials,
    )
    return 0
