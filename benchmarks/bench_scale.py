"""Estimation at scale: the bench corpus repeated (with per-copy variations) to about 1 GB or
more, order 5 under a memory budget; prints wall time, CPU time and peak RSS, checks that peak
RSS stays within 1.3x the budget and that the temp dir is left empty.

    python benchmarks/bench_scale.py                       # ~1 GB, --memory 1G
    python benchmarks/bench_scale.py --gb 4 --memory 1G    # larger corpus, same budget
    KNESER_BENCH_CACHE=/work/bench python benchmarks/bench_scale.py

The repeated corpus and the ARPA are written under the cache dir and deleted afterwards
(unless --keep).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from _common import CACHE, corpus, measure


def parse_size(text: str) -> float:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return float(text[:-1]) * units[text[-1].upper()] if text[-1].upper() in units else float(text)


# Words that get a per-copy suffix, so that every copy adds new words and n-grams as a larger
# corpus would (a plain repetition multiplies every count, and modified Kneser-Ney discounts need
# n-grams seen once).
MARKED = (b"the", b"of", b"and", b"to", b"in", b"is")


def repeat_corpus(src: Path, target: Path, gb: float) -> int:
    """Writes copies of `src` (copy i with MARKED words suffixed `_i`) until the file reaches
    `gb` * 1e9 bytes; returns its size."""
    want = int(gb * 1e9)
    data = src.read_bytes()
    if not data.endswith(b"\n"):
        data += b"\n"
    written = 0
    copy = 0
    with open(target, "wb") as out:
        while written < want:
            block = data
            if copy:
                for w in MARKED:
                    block = block.replace(b" " + w + b" ", b" %s_%d " % (w, copy))
            out.write(block)
            written += len(block)
            copy += 1
    return written


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", default="en", help="en, zh or a path (default en)")
    ap.add_argument("--gb", type=float, default=1.0, help="corpus size in GB (default 1)")
    ap.add_argument("--memory", default="1G", help="budget (default 1G)")
    ap.add_argument("--order", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--keep", action="store_true", help="keep the corpus and the ARPA")
    args = ap.parse_args()

    CACHE.mkdir(parents=True, exist_ok=True)
    big = CACHE / f"scale-{args.corpus}-{args.gb:g}gb.txt"
    size = repeat_corpus(corpus(args.corpus), big, args.gb)
    work = Path(tempfile.mkdtemp(prefix="kneser-scale-", dir=CACHE))
    temp = work / "tmp"
    temp.mkdir()
    arpa = work / "lm.arpa"
    try:
        cmd = [
            sys.executable, "-m", "kneser.cli", "build", "-q", "-o", str(args.order),
            "-S", args.memory, "-T", str(temp), "--threads", str(args.threads),
            "--text", str(big), "--arpa", str(arpa),
        ]  # fmt: skip
        print(f"corpus {big} ({size / 1e9:.2f} GB), order {args.order}, -S {args.memory}")
        m = measure(cmd)
        left = sorted(p.name for p in temp.iterdir())
        out_size = arpa.stat().st_size if arpa.exists() else 0
        budget_mb = parse_size(args.memory) / (1 << 20)
        print(f"  {m.row()}  ARPA {out_size / 1e9:.2f} GB")
        print(
            f"  peak RSS / budget: {m.rss_mb / budget_mb:.2f}"
            f"  ({m.rss_mb:.0f} MB of {budget_mb:.0f} MB; the bound is 1.3x)"
        )
        print(f"  temp dir after the run: {'empty' if not left else left}")
        ok = m.returncode == 0 and not left and m.rss_mb <= 1.3 * budget_mb
        print("  OK" if ok else f"  FAILED (exit code {m.returncode})")
        if args.keep and arpa.exists():
            arpa.rename(CACHE / f"{big.stem}.o{args.order}.arpa")
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if not args.keep:
            big.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
