"""``kneser clean``: normalize text lines (CCNet's presets or chosen steps), streaming."""

from __future__ import annotations

import argparse

import kneser
from kneser.commands._textio import add_io_arguments, process

PRESETS = ("ccnet", "ccnet-dedup", "none")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "clean",
        help="normalize text (CCNet's normalizer and other steps)",
        description=(
            "Normalize each line (or one field of each JSON line) of the inputs, in parallel "
            "batches. Without step options the preset is 'ccnet' (CCNet's normalize: strip, "
            "lowercase, strip accents, digits to 0, CCNet's punctuation table, control "
            "characters removed). Step options build a custom normalizer instead; they apply "
            "in the order listed."
        ),
    )
    add_io_arguments(p)
    g = p.add_argument_group("presets")
    g.add_argument(
        "--preset",
        choices=PRESETS,
        default=None,
        help="ccnet (default), ccnet-dedup (CCNet's normalize_for_dedup) or none",
    )
    g.add_argument(
        "--punct",
        type=int,
        choices=(0, 1, 2),
        default=1,
        help="ccnet preset: 0 keep, 1 map CCNet's table to ASCII (default), 2 remove",
    )
    g.add_argument("--keep-accents", action="store_true", help="ccnet preset: accent=False")
    g.add_argument("--keep-case", action="store_true", help="ccnet preset: case=False")
    g.add_argument("--keep-digits", action="store_true", help="ccnet preset: numbers=False")
    s = p.add_argument_group("steps (a custom normalizer, in this order)")
    s.add_argument("--unicode", choices=("NFC", "NFKC", "NFD", "NFKD"), help="Unicode form")
    s.add_argument("--urls", metavar="REPL", help="replace URLs with REPL")
    s.add_argument("--emails", metavar="REPL", help="replace e-mail addresses with REPL")
    s.add_argument("--lowercase", action="store_true", help="lowercase")
    s.add_argument("--strip-accents", action="store_true", help="NFD, drop non-spacing marks")
    s.add_argument("--digits", choices=("each", "run"), help="replace digits (or runs) with 0")
    s.add_argument(
        "--punct-mode",
        choices=("ccnet-map", "ccnet-remove", "remove-all"),
        help="map or remove punctuation",
    )
    s.add_argument("--remove-control", action="store_true", help="delete control characters")
    s.add_argument(
        "--collapse-whitespace", action="store_true", help="runs of whitespace to one space"
    )
    s.add_argument("--strip", action="store_true", help="strip leading/trailing whitespace")
    p.set_defaults(func=run)


STEP_OPTIONS = (
    "unicode",
    "urls",
    "emails",
    "lowercase",
    "strip_accents",
    "digits",
    "punct_mode",
    "remove_control",
    "collapse_whitespace",
    "strip",
)


def build_normalizer(args: argparse.Namespace) -> kneser.Normalizer:
    """The normalizer the options ask for."""
    steps = {name: getattr(args, name) for name in STEP_OPTIONS if getattr(args, name)}
    if steps:
        if args.preset not in (None, "none"):
            raise SystemExit("kneser: error: step options cannot be combined with --preset")
        if "punct_mode" in steps:
            steps["punct"] = steps.pop("punct_mode")
        return kneser.Normalizer(**steps)
    preset = args.preset or "ccnet"
    if preset == "ccnet-dedup":
        return kneser.Normalizer.ccnet_dedup()
    if preset == "none":
        return kneser.Normalizer()
    return kneser.Normalizer.ccnet(
        punct=args.punct,
        accent=not args.keep_accents,
        case=not args.keep_case,
        numbers=not args.keep_digits,
    )


def run(args: argparse.Namespace) -> int:
    norm = build_normalizer(args)
    return process(args, norm.normalize_batch, lambda text: text)
