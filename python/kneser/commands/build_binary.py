"""``kneser build-binary``: KenLM's ``build_binary``, writing the same bytes.

``kneser build-binary [-p mult] [-v] [-i] [-u log10p] [-w mmap|after] [-T dir] [-S mem]
[probing] model.arpa out.bin`` writes KenLM's probing binary (format version 5), byte for byte
what ``build_binary`` writes for the same ARPA and flags. ``kneser.Model``, ``kneser query``, the
kenlm module and KenLM's ``query`` load it.

Flags, with build_binary's meaning: ``-p`` probing multiplier (buckets per entry, default 1.5);
``-v`` leave out the vocabulary strings; ``-i`` map positive log10 probabilities to 0 instead of
refusing the file; ``-u`` log10 p of ``<unk>`` when the ARPA has none (default -100). ``-w``
(how build_binary writes: through a mapping or after building), ``-T`` and ``-S`` (the trie's
temporary files and sort memory) do not change the bytes and are accepted. The trie layout and
its options (``trie``, ``-q``, ``-b``, ``-a``) and ``-s`` are refused with a message: not
implemented yet.
"""

from __future__ import annotations

import argparse

import kneser


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "build-binary",
        help="convert an ARPA file to KenLM's binary format (build_binary's flags and bytes)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-p", dest="multiplier", type=float, default=1.5, help="probing multiplier")
    parser.add_argument("-v", dest="no_vocab", action="store_true", help="no vocabulary strings")
    parser.add_argument("-i", dest="map_positive", action="store_true", help="positive p -> 0")
    parser.add_argument("-u", dest="unknown", type=float, default=-100.0, help="log10 p of <unk>")
    parser.add_argument("-s", dest="skip_specials", action="store_true", help="not supported")
    parser.add_argument("-q", dest="prob_bits", type=int, help="trie only (not supported yet)")
    parser.add_argument("-b", dest="backoff_bits", type=int, help="trie only (not supported yet)")
    parser.add_argument("-a", dest="pointer_bits", type=int, help="trie only (not supported yet)")
    parser.add_argument("-w", dest="write", choices=["mmap", "after"], default="mmap")
    parser.add_argument("-T", dest="temp", help="temporary directory (the trie's; accepted)")
    parser.add_argument("-S", dest="memory", help="sort memory (the trie's; accepted)")
    parser.add_argument("args", nargs="+", metavar="[probing] model.arpa out.bin")
    parser.set_defaults(func=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    rest = list(args.args)
    layout = "probing"
    if len(rest) == 3:
        layout = rest.pop(0)
    if len(rest) != 2:
        args.parser.error("expected [probing] model.arpa out.bin")
    if layout not in ("probing", "trie"):
        args.parser.error(f"unknown data structure {layout!r}: expected probing or trie")
    trie_flags = [
        f"-{f}"
        for f, v in (("q", args.prob_bits), ("b", args.backoff_bits), ("a", args.pointer_bits))
        if v is not None
    ]
    if layout == "trie" or trie_flags:
        args.parser.error(
            "the trie layout (trie, -q, -b, -a) is not implemented yet; kneser writes probing"
        )
    if args.skip_specials:
        args.parser.error("-s (models without <s> or </s>) is not supported")
    arpa, out = rest
    kneser.build_binary(
        arpa,
        out,
        probing_multiplier=args.multiplier,
        include_vocab=not args.no_vocab,
        map_positive=args.map_positive,
        unknown_log10p=args.unknown,
    )
    return 0
