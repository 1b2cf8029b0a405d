"""``kneser pipeline``, ``kneser train-lm`` and ``kneser demo``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, cast

import kneser
from kneser import _kneser
from kneser.commands._memory import add_sort_options
from kneser.pipeline import BUCKETS, Pipeline, demo, train_lm


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pipeline",
        help="filter documents by perplexity (CCNet style), dedup, encode",
        description="Normalize, tokenize, score with a kneser model, bucket by perplexity "
        "(head/middle/tail), deduplicate, and write the kept documents as JSON lines with their "
        "perplexity and bucket; optionally token-id shards of the kept text.",
    )
    p.add_argument("inputs", nargs="+", help="JSON lines or text files (plain, .gz, .xz, .zst)")
    p.add_argument("-m", "--model", default=None, help="ARPA or binary model")
    p.add_argument(
        "--ccnet-lm-dir",
        default=None,
        help="CCNet mode: a directory of {lang}.sp.model + {lang}.arpa.bin (or .arpa) models; "
        "documents are scored exactly as CCNet's mine.py does",
    )
    p.add_argument("--cutoff-csv", default=None, help="CCNet mode: CCNet's cutoff.csv")
    head, tail = _kneser.DEFAULT_PERCENTILES
    p.add_argument("--percentile-head", type=float, default=head, help="CCNet mode")
    p.add_argument("--percentile-tail", type=float, default=tail, help="CCNet mode")
    p.add_argument("--language-field", default="language", help="CCNet mode")
    p.add_argument("-O", "--output", required=True, help="kept documents (JSON lines)")
    p.add_argument("--format", choices=["auto", "jsonl", "text"], default="auto")
    p.add_argument(
        "--field", default=None, help="the JSON field with the text (text; CCNet mode raw_content)"
    )
    p.add_argument("--percentiles", type=float, nargs=2, default=_kneser.DEFAULT_PERCENTILES)
    p.add_argument("--thresholds", type=float, nargs=2, default=None, help="fixed perplexities")
    p.add_argument("--calibration", type=int, default=_kneser.DEFAULT_CALIBRATION)
    p.add_argument(
        "--dedup",
        choices=["document", "line", "none"],
        default=None,
        help="default: document; none with --ccnet-lm-dir (CCNet dedups in another step)",
    )
    p.add_argument("--keep", nargs="+", choices=[*BUCKETS, "all"], default=None)
    p.add_argument("--normalize", choices=["ccnet", "none"], default="ccnet")
    p.add_argument("--tokenizer", default=None, help="tokenizer mode before scoring")
    p.add_argument("--on-error", choices=["skip", "raise"], default="skip")
    p.add_argument("--shards", default=None, help="directory for token-id shards of kept text")
    p.add_argument(
        "--histogram",
        default=None,
        help="perplexity histogram: a PNG when matplotlib is installed, else drawn in the terminal",
    )
    p.add_argument("--batch-size", type=int, default=_kneser.DEFAULT_BATCH_SIZE)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=run_pipeline)

    t = sub.add_parser(
        "train-lm",
        help="CCNet's recipe: normalize, tokenize, estimate, write ARPA and/or binary",
        description="CCNet's recipe for a {lang}.sp.model + {lang}.arpa.bin pair: normalize the "
        "reference text, train a SentencePiece model on it (--sp-model), estimate on its pieces, "
        "write KenLM's probing binary (--binary; straight from estimation without --arpa) "
        "and/or the ARPA.",
    )
    t.add_argument("inputs", nargs="+", help="reference corpus files")
    t.add_argument("-o", "--order", type=int, default=5)
    t.add_argument("--arpa", default=None, help="the ARPA to write")
    t.add_argument(
        "--binary",
        default=None,
        help="KenLM's probing binary to write (build_binary's default layout; CCNet's "
        "{lang}.arpa.bin)",
    )
    t.add_argument("--normalize", choices=["ccnet", "none"], default="ccnet")
    t.add_argument("--tokenizer", default=None, help="a tokenizer mode or a SentencePiece .model")
    t.add_argument(
        "--sp-model",
        default=None,
        help="train a SentencePiece model on the normalized text into this file (CCNet's "
        "{lang}.sp.model), then estimate on its pieces; needs kneser[sentencepiece]",
    )
    t.add_argument("--sp-vocab-size", type=int, default=8000)
    add_sort_options(t)
    t.add_argument("--prune", type=int, nargs="+", default=None)
    t.add_argument("--discount-fallback", action="store_true")
    t.add_argument("-q", "--quiet", action="store_true")
    t.set_defaults(func=run_train_lm)

    d = sub.add_parser("demo", help="run the whole flow on a bundled sample (no network)")
    d.add_argument("--out", default=None, help="output directory (default: a new temp dir)")
    d.add_argument("-o", "--order", type=int, default=3)
    d.set_defaults(func=run_demo)


def _tokenizer(mode: str | None):
    """A tokenizer mode name, or a SentencePiece ``.model`` file."""
    if not mode:
        return None
    if mode.endswith(".model") or os.path.isfile(mode):
        return kneser.SentencePiece(mode)
    return kneser.Tokenizer(cast(Any, mode))  # a mode name; the core rejects an unknown one


def run_pipeline(args: argparse.Namespace) -> int:
    if (args.model is None) == (args.ccnet_lm_dir is None):
        raise kneser.ArgumentError("give either -m/--model or --ccnet-lm-dir")
    if args.ccnet_lm_dir is not None:
        ccnet = Pipeline.ccnet(
            args.ccnet_lm_dir,
            args.cutoff_csv,
            field=args.field or "raw_content",
            percentile_head=args.percentile_head,
            percentile_tail=args.percentile_tail,
            language_field=args.language_field,
            keep=args.keep,
            dedup=None if args.dedup in (None, "none") else "document",
            on_error=args.on_error,
            batch_size=args.batch_size,
        )
        report = ccnet.run(
            args.inputs,
            args.output,
            format="jsonl" if args.format == "auto" else args.format,
            progress=not args.quiet,
        )
    else:
        report = _run_model(args)
    if args.json:
        print(json.dumps(report.as_dict()))
    else:
        print(report, file=sys.stderr)
        if getattr(report, "histogram_text", None):
            print("matplotlib is not installed (pip install 'kneser[plot]' for a PNG):")
            print(report.histogram_text)
    return 0


def _run_model(args: argparse.Namespace):
    if args.keep is not None and "all" in args.keep:
        raise kneser.ArgumentError("--keep all is for --ccnet-lm-dir")
    pipeline = Pipeline(
        args.model,
        normalizer="ccnet" if args.normalize == "ccnet" else None,
        tokenizer=_tokenizer(args.tokenizer),
        field=args.field or "text",
        percentiles=args.percentiles,
        thresholds=args.thresholds,
        calibration=args.calibration,
        dedup=None if args.dedup == "none" else (args.dedup or "document"),
        keep=args.keep if args.keep is not None else list(BUCKETS),
        on_error=args.on_error,
        batch_size=args.batch_size,
    )
    return pipeline.run(
        args.inputs,
        args.output,
        format=args.format,
        shards=args.shards,
        histogram=args.histogram,
        progress=not args.quiet,
    )


def run_train_lm(args: argparse.Namespace) -> int:
    if args.arpa is None and args.binary is None:
        raise kneser.ArgumentError("kneser train-lm: give --arpa, --binary or both")
    summary = train_lm(
        args.inputs,
        args.order,
        args.arpa,
        binary=args.binary,
        normalizer="ccnet" if args.normalize == "ccnet" else None,
        tokenizer=_tokenizer(args.tokenizer),
        sp_model=args.sp_model,
        sp_vocab_size=args.sp_vocab_size,
        memory=args.memory,
        temp_dir=args.temp_dir,
        prune=args.prune,
        discount_fallback=True if args.discount_fallback else None,
        verbose=not args.quiet,
    )
    if not args.quiet:
        print(json.dumps(summary), file=sys.stderr)
    return 0


def run_demo(args: argparse.Namespace) -> int:
    demo(args.out, args.order)
    return 0
