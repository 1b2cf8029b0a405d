"""Memory and speed of `kneser pipeline` as the input grows: en-bench once and five times
(the same file given five times), perplexity filtering with a model trained on its first 50,000
lines. Peak RSS should stay flat (the issue asks within 10% between 1x and 5x).

    python benchmarks/bench_pipeline.py
    python benchmarks/bench_pipeline.py --scales 1 2 5 --dedup document
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
from pathlib import Path

from _common import CACHE, corpus, measure

import kneser


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", default="en")
    ap.add_argument("--scales", type=int, nargs="+", default=[1, 5])
    ap.add_argument("--dedup", choices=["document", "line", "none"], default="none")
    ap.add_argument("--order", type=int, default=3)
    args = ap.parse_args()
    path = corpus(args.corpus)
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        tmp = Path(tmp)
        with open(path, encoding="utf-8") as f:
            head = list(itertools.islice(f, 50_000))
        (tmp / "ref.txt").write_text("".join(head), encoding="utf-8")
        kneser.train_lm(tmp / "ref.txt", args.order, tmp / "lm.arpa", binary=tmp / "lm.bin")
        (tmp / "lm.arpa").unlink()
        rss = {}
        for scale in args.scales:
            cmd = [
                sys.executable, "-m", "kneser.cli", "pipeline", *[str(path)] * scale,
                "-m", str(tmp / "lm.bin"), "-O", str(tmp / "out.jsonl"), "--format", "text",
                "--dedup", args.dedup, "-q",
            ]  # fmt: skip
            with open(tmp / "report.txt", "w") as report:
                m = measure(cmd, stderr=report)
            with open(tmp / "out.jsonl", encoding="utf-8") as out:
                docs = sum(1 for _ in out)
            rss[scale] = m.rss_mb
            print(f"{scale}x {args.corpus}-bench: {m.row()}  {docs:,} documents out"
                  f"  ({docs / m.wall:,.0f} docs/s)")  # fmt: skip
        base = rss[args.scales[0]]
        for scale in args.scales[1:]:
            print(f"peak RSS {scale}x / {args.scales[0]}x: {rss[scale] / base:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
