"""Order-N estimation on the benchmark corpora: wall time, CPU time and peak RSS of
`kneser build`, with the ratio to lmplz's recorded figures (../shared/reference/README.md).

    python benchmarks/bench_estimate.py                      # en and zh, order 5, -S 2G and 200M
    python benchmarks/bench_estimate.py --corpus en --memory 200M
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from _common import CACHE, corpus, lmplz_anchors, measure


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", action="append", help="en, zh or a path (default: en and zh)")
    ap.add_argument("--memory", action="append", help="budgets (default: 2G and 200M)")
    ap.add_argument("--order", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--keep", action="store_true", help="keep the ARPA in benchmarks/out")
    args = ap.parse_args()
    anchors = lmplz_anchors()
    for name in args.corpus or ["en", "zh"]:
        path = corpus(name)
        for memory in args.memory or ["2G", "200M"]:
            with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
                arpa = Path(tmp) / "lm.arpa"
                cmd = [
                    sys.executable, "-m", "kneser.cli", "build", "-q", "-o", str(args.order),
                    "-S", memory, "-T", tmp, "--threads", str(args.threads),
                    "--text", str(path), "--arpa", str(arpa),
                ]  # fmt: skip
                m = measure(cmd)
                size = arpa.stat().st_size if arpa.exists() else 0
                if args.keep and arpa.exists():
                    arpa.rename(CACHE / f"{Path(path).stem}.o{args.order}.{memory}.arpa")
            print(f"{name} -o {args.order} -S {memory}: {m.row()}  ARPA {size / 1e9:.2f} GB")
            if m.returncode != 0:
                print(f"  failed with exit code {m.returncode}")
                continue
            ref = anchors.get((name, memory))
            if ref and args.order == 5:
                print(
                    f"  vs lmplz: wall {m.wall / ref['wall']:.2f}x  "
                    f"cpu {(m.user + m.sys) / (ref['user'] + ref['sys']):.2f}x  "
                    f"peak RSS {m.rss_mb / ref['rss_mb']:.2f}x   (lmplz: {ref['wall']} s, "
                    f"{ref['rss_mb']:.0f} MB; ratios below 1 mean kneser is faster or smaller)"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
