"""Every benchmark of issue 17 in one invocation, printed as ONE table: workload, kneser's
figure, the anchor's (run side by side in the same invocation), the ratio, the goal, whether it
is met, peak RSS and whether the outputs were identical.

    python benchmarks/run_all.py                 # full inputs (`make bench`); about an hour
    python benchmarks/run_all.py --quick         # smaller inputs, fewer repeats: < 10 minutes
    python benchmarks/run_all.py --skip-large    # without the 1 GB estimation row
    python benchmarks/run_all.py --only estimate --only query --json rows.json

Each script (bench_estimate.py, bench_query.py, bench_segment.py, bench_normalize.py,
bench_encode.py, bench_ccnet.py) runs in its own process with its usual output, and appends
its rows to the JSON-lines file named by $KNESER_BENCH_ROWS (`_common.emit_row`). A row whose
anchor is missing says "skipped" and why; a script that fails gives a row saying so. Build with
`maturin develop --release` first: the ratios of a dev build mean nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROWS_ENV

HERE = Path(__file__).resolve().parent
SCRIPTS = ["estimate", "query", "segment", "normalize", "encode", "ccnet"]


def plan(args: argparse.Namespace, tmp: Path) -> list[tuple[str, list[str]]]:
    """(script name, arguments) for each run, in order; inputs made in `tmp`."""
    quick = args.quick
    est: list[str] = []
    if args.estimate_corpus:
        est += [a for c in args.estimate_corpus for a in ("--corpus", c)]
    elif quick:  # the first 60,000 lines of en-bench (the head of zh-bench is too small for
        est += ["--corpus", "en"]  # Kneser-Ney discounts: it is small anyway, taken whole)
    quick_zh = [("estimate", ["--corpus", "zh"])] if quick and not args.estimate_corpus else []
    if quick:
        est += ["--lines", "60000"]
    if args.estimate_order:
        est += ["--order", str(args.estimate_order)]
    for memory in args.estimate_memory or []:
        est += ["--memory", memory]
    if not args.skip_large:
        est += ["--large"] + (["--large-bytes", str(200 * 10**6)] if quick else [])
    runs = [
        ("estimate", est),
        *quick_zh,
        ("query", ["--repeat", "10", "--runs", "3"] if quick else []),
        ("segment", ["--lines", "5000", "--repeat", "1"] if quick else ["--lines", "117648"]),
        ("normalize", ["--lines", "20000", "--repeat", "1"] if quick else []),
        (
            "normalize",
            ["--corpus", str(zh_text(Path(args.zh), tmp, 10_000 if quick else 0))]
            + (["--lines", "10000", "--repeat", "1"] if quick else ["--lines", "117648"]),
        ),
        ("encode", ["--lines", "50000", "--repeat", "1"] if quick else []),
        (
            "ccnet",
            ["--docs", "3000", "--ref-lines", "15000", "--set", "en+zh"]
            if quick
            else ["--docs", "20000", "--set", "en", "--set", "zh"],
        ),
    ]
    return [(name, a) for name, a in runs if not args.only or name in args.only]


def table(rows: list[dict]) -> str:
    """The rows as one Markdown table."""
    head = ["workload", "kneser", "anchor", "ratio", "cpu ratio", "goal", "met?", "peak RSS",
            "identical"]  # fmt: skip

    def cell(v: object) -> str:
        if v is None:
            return "-"
        if v is True:
            return "yes"
        if v is False:
            return "NO"
        if isinstance(v, float):
            return f"{v:.2f}x"
        return str(v)

    body = [
        [
            cell(r["workload"]),
            cell(r["kneser"]),
            cell(r["anchor"]),
            cell(r["ratio"]),
            cell(r.get("cpu_ratio")),
            cell(r["goal"]),
            cell(r["met"]),
            cell(r["rss"] or None),
            cell(r["identical"]),
        ]
        for r in rows
    ]
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in body]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller inputs, fewer repeats")
    ap.add_argument("--skip-large", action="store_true", help="no 1 GB estimation row")
    ap.add_argument("--only", action="append", choices=SCRIPTS, help="run only these scripts")
    ap.add_argument("--estimate-corpus", action="append", help="corpus for bench_estimate")
    ap.add_argument("--estimate-order", type=int, help="order for bench_estimate (5)")
    ap.add_argument("--estimate-memory", action="append", help="-S for bench_estimate")
    ap.add_argument("--zh", default=str(zh_corpus()), help="Chinese text for the normalizer")
    ap.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = ap.parse_args()
    start = time.time()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, script_args in plan(args, Path(tmp)):
            out = Path(tmp) / f"{name}.{len(rows)}.jsonl"
            cmd = [sys.executable, str(HERE / f"bench_{name}.py"), *script_args]
            print(f"\n### {' '.join(cmd[1:])}", flush=True)
            proc = subprocess.run(cmd, env=dict(os.environ, **{ROWS_ENV: str(out)}))
            got = []
            if out.exists():
                got = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
            rows += got
            if proc.returncode != 0:
                rows.append(
                    {
                        "workload": f"bench_{name}.py {' '.join(script_args)}",
                        "kneser": "-",
                        "anchor": f"script failed (exit code {proc.returncode})",
                        "ratio": None,
                        "cpu_ratio": None,
                        "goal": "",
                        "met": None,
                        "rss": "",
                        "identical": None,
                    }
                )
    mode = "quick" if args.quick else "full"
    end_load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\n## kneser benchmarks ({mode} mode, {time.time() - start:.0f} s; load average "
        f"{load} before, {end_load} after, {os.cpu_count()} cores)\n"
    )
    print(table(rows))
    print(
        "\nratio: kneser / anchor for times and sizes (goal <=), anchor / kneser for speeds "
        "(goal >=); peak RSS: kneser / anchor."
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


def zh_text(src: Path, tmp: Path, lines: int) -> Path:
    """The Chinese reviews as running text (zh-bench has one character a token: the spaces go),
    xz-compressed as bench_normalize.py reads it; the first `lines` lines (0: all)."""
    import lzma
    from itertools import islice

    dst = tmp / "zh-reviews.txt.xz"
    if dst.exists() or not src.exists():
        return dst if dst.exists() else src
    with lzma.open(src, "rt", encoding="utf-8") as fin, lzma.open(dst, "wt", preset=0) as fout:
        for line in islice(fin, lines or None):
            fout.write(line.replace(" ", ""))
    return dst


def zh_corpus() -> Path:
    from _common import SHARED

    return SHARED / "corpora" / "zh-bench.chars.txt.xz"


if __name__ == "__main__":
    sys.exit(main())
