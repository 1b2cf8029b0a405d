"""Instructions per line of Chinese segmentation (HMM off), counted by callgrind: kneser's
`Segmenter.cut` / `lcut` called once per line from Python and `cut_batch`, against rjieba
(jieba-rs's binding) and jieba on the same People's Daily lines as bench_segment.py.

Wall and CPU time on a shared machine move with the load; instruction counts do not. Each
case runs in a fresh process under `valgrind --tool=callgrind` twice, cutting the lines once
and then `1 + --extra` times; the difference of the two totals over the extra lines is the
cost of cutting alone (imports, dictionary loading, the first pass's warm-up and the
interpreter's start cancel out). Python's per-call overhead is inside the figure for every
tool (a call per line, except `cut_batch`). Instructions are not time (a cache miss costs
hundreds of cycles and no instruction): read these next to bench_segment.py's ratios.

Usage:
  python benchmarks/instr_segment.py [--lines 2000] [--extra 2] [--only kneser-lcut rjieba]
      [--cache-sim] [--branch-sim]

Needs valgrind and a release build (`make build-prod`).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from _common import callgrind_per_unit
from bench_segment import DEFAULT_CORPUS, load_lines

CHILD = r"""
import sys
case, dict_path, text_path, reps = sys.argv[1:5]
lines = open(text_path, encoding="utf-8").read().split("\n")
if case.startswith("kneser"):
    import kneser
    seg = kneser.Segmenter.from_dict(dict_path)
    if case == "kneser-lcut":
        run = lambda: [seg.lcut(t) for t in lines]
    elif case == "kneser-cut":
        run = lambda: [list(seg.cut(t)) for t in lines]
    else:
        run = lambda: seg.cut_batch(lines)
elif case == "rjieba":
    import rjieba
    cut = rjieba.cut
    run = lambda: [cut(t, False) for t in lines]
else:
    import jieba
    jieba.setLogLevel(60)
    jieba.initialize()
    run = lambda: [list(jieba.cut(t, HMM=False)) for t in lines]
for _ in range(int(reps)):
    run()
"""

CASES = ("rjieba", "kneser-lcut", "kneser-cut", "kneser-batch", "jieba")


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for name in ("kneser", "rjieba", "jieba"):
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} not installed")
    return ", ".join(found)


def main() -> None:
    import jieba

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--dict", type=Path, default=Path(jieba.__file__).parent / "dict.txt")
    parser.add_argument("--extra", type=int, default=2, help="extra passes over the lines")
    parser.add_argument("--only", nargs="+", choices=CASES, help="these cases only")
    parser.add_argument(
        "--cache-sim", action="store_true", help="also simulated D1 and LL misses per line"
    )
    parser.add_argument(
        "--branch-sim",
        action="store_true",
        help="also simulated mispredicted conditional and indirect branches per line",
    )
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: nothing measured")

    lines = load_lines(args.corpus, args.lines)
    chars = sum(len(t) for t in lines)
    print(f"{len(lines):,} lines, {chars:,} characters from {args.corpus}; {versions()}")
    misses = f" {'D1 miss/line':>13} {'LL miss/line':>13}" if args.cache_sim else ""
    misses += f" {'cond mispred':>13} {'ind mispred':>13}" if args.branch_sim else ""
    print(f"{'':16} {'instr/line':>11} {'instr/char':>11} {'rjieba / this':>14}{misses}")
    per_line: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        text = Path(tmp) / "lines.txt"
        text.write_text("\n".join(lines), encoding="utf-8")
        for case in args.only or CASES:
            counts = callgrind_per_unit(
                CHILD, [case, str(args.dict), str(text)], units=len(lines), extra=args.extra,
                cache_sim=args.cache_sim, branch_sim=args.branch_sim,
            )  # fmt: skip
            shown_counts = ["instr"] + (["D1", "LL"] if args.cache_sim else [])
            shown_counts += ["cond", "ind"] if args.branch_sim else []
            diff = [counts[name] for name in shown_counts]
            per_line[case] = diff[0]
            ratio = per_line.get("rjieba")
            shown = f"{ratio / per_line[case]:13.2f}x" if ratio else f"{'':>14}"
            row = f"{case:16} {per_line[case]:11.0f} {per_line[case] * len(lines) / chars:11.1f}"
            extra = "".join(f" {d:13.1f}" for d in diff[1:])
            print(f"{row} {shown}{extra}", flush=True)


if __name__ == "__main__":
    main()
