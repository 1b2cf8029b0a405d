"""``kneser explain``: every stage of the estimation on a small corpus, as the estimator ran it.

``kneser explain -o N [--discount_fallback [D1 D2 D3+]] [--prune ...] small.txt`` runs the
estimator (the same stages as ``kneser build``) on at most 2,000 tokens and prints what each
stage produced: the sentences with ``<s>``/``</s>``, the counted order-N windows, the adjusted
counts, the count-of-counts with the discounts and their formula filled in, the uninterpolated
probabilities and the backoff mass (gamma) of each context, the interpolated probabilities and
the ARPA file. The tables come from ``kneser.explain``, which records the stages' own outputs.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import kneser


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "explain",
        help="print every estimation stage on a small corpus (learning and debugging MKN)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "input", nargs="?", help="a small text file (plain or compressed; at most 2,000 tokens)"
    )
    p.add_argument("-o", "--order", type=int, required=True, help="order of the model")
    p.add_argument(
        "--discount_fallback",
        "--discount-fallback",
        dest="discount_fallback",
        nargs="*",
        default=None,
        help="fallback discounts D1 D2 D3+ (default 0.5 1 1.5) for orders that cannot be estimated",
    )
    p.add_argument("--prune", type=int, nargs="+", default=None, help="prune thresholds per order")
    p.add_argument("--vocab_pad", "--vocab-pad", dest="vocab_pad", type=int, default=0)
    p.add_argument(
        "--interpolate_unigrams",
        "--interpolate-unigrams",
        dest="interpolate_unigrams",
        type=int,
        choices=[0, 1],
        default=1,
    )
    p.add_argument("--skip_symbols", "--skip-symbols", dest="skip_symbols", action="store_true")
    p.set_defaults(func=run, parser=p)


def _g(x: float) -> str:
    """A value as the tables show it (the f32 the estimator used, to 7 significant digits)."""
    return "nan" if math.isnan(x) else f"{x:.7g}"


def _table(title: str, header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    out = ["", f"== {title} =="]
    out.append("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
    out.extend("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
    return out


def render(e: dict[str, Any]) -> str:
    """The text ``kneser explain`` prints for the tables of ``kneser.explain``."""
    n = e["order"]
    lines = ["== 0. Text (sentences as counted) =="] + [f"  {s}" for s in e["sentences"]]
    lines += _table(
        f"1. Raw counts of the {n}-gram windows (counting)",
        ["n-gram", "count"],
        [[r["ngram"], str(r["count"])] for r in e["raw"]],
    )
    lines += _table(
        "2. Adjusted counts (continuation counts; raw for the top order and <s>-initial)",
        ["order", "n-gram", "adjusted", "pruned"],
        [
            [str(r["order"]), r["ngram"], str(r["count"]), "yes" if r["pruned"] else ""]
            for r in e["adjusted"]
        ],
    )
    lines += ["", "== 3. Count-of-counts and discounts =="]
    lines.append("  Y = n1 / (n1 + 2 n2);  D_k = k - (k+1) * Y * n_{k+1} / n_k")
    for d in e["discounts"]:
        k = d["order"]
        n1, n2, n3, n4 = d["n1"], d["n2"], d["n3"], d["n4"]
        lines.append(f"  order {k}: n1={n1} n2={n2} n3={n3} n4={n4}")
        lines.append(f"    Y = {n1} / ({n1} + 2*{n2}) = {_g(d['Y'])}")
        formulas = [
            f"D1  = 1 - 2 * Y * {n2}/{n1}",
            f"D2  = 2 - 3 * Y * {n3}/{n2}",
            f"D3+ = 3 - 4 * Y * {n4}/{n3}",
        ]
        for name, formula in zip(("D1", "D2", "D3+"), formulas):
            if d["fallback"]:
                lines.append(
                    f"    {name:<3} = {_g(d[name])}  (fallback; the estimate {formula} failed)"
                )
            else:
                lines.append(f"    {formula} = {_g(d[name])}")
    lines += _table(
        "4a. Uninterpolated probabilities: p(w|c) = (a(cw) - D(a(cw))) / sum_x a(cx)",
        ["order", "context", "word", "p", "gamma(context)"],
        [
            [str(r["order"]), r["context"] or "(empty)", r["word"], _g(r["p"]), _g(r["gamma"])]
            for r in e["uninterpolated"]
        ],
    )
    lines += _table(
        "4b. Backoff mass per context: gamma(c) = sum_w D(a(cw)) / sum_x a(cx)",
        ["order", "context", "gamma"],
        [[str(r["order"]), r["context"] or "(empty)", _g(r["gamma"])] for r in e["gammas"]],
    )
    lines += _table(
        "5. Interpolated probabilities: p(w|c) + gamma(c) * p_interp(w|c')"
        " (unigrams: + gamma / |vocabulary without <s>|)",
        ["order", "n-gram", "p_interp"],
        [[str(r["order"]), r["ngram"], _g(r["p"])] for r in e["interpolated"]],
    )
    lines += ["", "== 6. ARPA =="]
    lines.append(e["arpa"].rstrip("\n"))
    return "\n".join(lines) + "\n"


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def run(args: argparse.Namespace) -> int:
    fallback = args.discount_fallback
    path = args.input
    if fallback is not None:
        # `--discount_fallback small.txt`: the flag takes only numbers; the file follows it.
        values = [_float(v) for v in fallback]
        if path is None and fallback and values[-1] is None:
            path = fallback.pop()
            values.pop()
        if any(v is None for v in values):
            args.parser.error(f"--discount_fallback takes numbers, got {fallback}")
        fallback = [v for v in values if v is not None] or True
    if path is None:
        args.parser.error("the following arguments are required: input")
    e = kneser.explain(
        path,
        args.order,
        discount_fallback=fallback,
        prune=args.prune,
        vocab_pad=args.vocab_pad,
        interpolate_unigrams=bool(args.interpolate_unigrams),
        skip_symbols=args.skip_symbols,
    )
    print(render(e), end="")
    return 0
