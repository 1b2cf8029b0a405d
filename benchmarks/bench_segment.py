"""Chinese word segmentation: kneser.Segmenter against jieba with its HMM off, same lines.

Prints characters per second and the ratio to jieba for: jieba (accurate and full mode),
kneser `cut` called once per line from Python, `cut_batch` on one thread and on all threads
(each kneser run in a subprocess with RAYON_NUM_THREADS set), and `cut_file`. jieba is timed
once, kneser as the best of --repeat runs; the CPU seconds (all threads of the process) are
printed too, as they are less disturbed than wall time on a busy machine.

    python benchmarks/bench_segment.py                  # first 20,000 lines of zh-bench
    python benchmarks/bench_segment.py --lines 117648   # the whole corpus
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# ../shared beside the checkout (or $KNESER_SHARED), as in tests/conftest.py; a worktree may sit
# one level deeper.
_SHARED_CANDIDATES = [ROOT.parent / "shared", ROOT.parents[1] / "shared"]
if os.environ.get("KNESER_SHARED"):
    _SHARED_CANDIDATES.insert(0, Path(os.environ["KNESER_SHARED"]))
SHARED = next((p for p in _SHARED_CANDIDATES if p.is_dir()), _SHARED_CANDIDATES[0])
DEFAULT_CORPUS = SHARED / "corpora" / "zh-bench.chars.txt.xz"


def load_lines(corpus: Path, n: int) -> list[str]:
    opener = lzma.open if corpus.suffix == ".xz" else open
    lines = []
    with opener(corpus, "rt", encoding="utf-8") as f:
        for line in f:
            # The corpus has one character a token: join them back into running text.
            lines.append(line.rstrip("\n").replace(" ", ""))
            if len(lines) == n:
                break
    return lines


def best_of(repeat: int, fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of the fastest of `repeat` runs."""
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        best = min(best, (time.perf_counter() - start, time.process_time() - cpu))
    return best


def worker(args: argparse.Namespace) -> None:
    """Runs in a subprocess (RAYON_NUM_THREADS already set); prints timings as JSON."""
    import kneser

    lines = load_lines(args.corpus, args.lines)
    seg = kneser.Segmenter.from_dict(args.dict)
    out: dict[str, tuple[float, float]] = {}
    out["cut_batch"] = best_of(args.repeat, lambda: seg.cut_batch(lines))
    out["cut_batch_all"] = best_of(args.repeat, lambda: seg.cut_batch(lines, cut_all=True))
    if args.loop:
        out["cut_loop"] = best_of(args.repeat, lambda: [seg.lcut(t) for t in lines])
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.txt"
        src.write_text("\n".join(lines) + "\n", encoding="utf-8")
        dst = Path(tmp) / "out.txt"
        out["cut_file"] = best_of(args.repeat, lambda: seg.cut_file(src, dst))
    print(json.dumps(out))


def run_worker(
    args: argparse.Namespace, threads: int | None, loop: bool
) -> dict[str, tuple[float, float]]:
    env = dict(os.environ)
    if threads is None:
        env.pop("RAYON_NUM_THREADS", None)
    else:
        env["RAYON_NUM_THREADS"] = str(threads)
    cmd = [sys.executable, __file__, "--worker", "--lines", str(args.lines)]
    cmd += ["--corpus", str(args.corpus), "--dict", str(args.dict), "--repeat", str(args.repeat)]
    if loop:
        cmd.append("--loop")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    import jieba

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--dict", type=Path, default=Path(jieba.__file__).parent / "dict.txt")
    parser.add_argument("--repeat", type=int, default=3, help="kneser runs: best of N")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--loop", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    lines = load_lines(args.corpus, args.lines)
    chars = sum(len(t) for t in lines)
    cores = os.cpu_count() or 1
    print(f"{len(lines):,} lines, {chars:,} characters from {args.corpus}; {cores} cores")

    jieba.setLogLevel(60)
    jieba.initialize()
    jieba_acc = best_of(1, lambda: [list(jieba.cut(t, HMM=False)) for t in lines])
    jieba_full = best_of(1, lambda: [list(jieba.cut(t, cut_all=True)) for t in lines])
    try:
        import rjieba
    except ImportError:
        rjieba = None
        print("rjieba (jieba-rs) not installed: its rows are skipped")
    if rjieba is not None:
        rcut = rjieba.cut
        rj = best_of(args.repeat, lambda: [rcut(t, False) for t in lines])
    one = run_worker(args, 1, loop=True)
    every = run_worker(args, None, loop=False)

    rows = [
        ("jieba cut(HMM=False)", 1, jieba_acc, jieba_acc),
        ("kneser cut, a Python loop", 1, one["cut_loop"], jieba_acc),
        ("kneser cut_batch", 1, one["cut_batch"], jieba_acc),
        (f"kneser cut_batch (all {cores} threads)", cores, every["cut_batch"], jieba_acc),
        ("kneser cut_file", 1, one["cut_file"], jieba_acc),
        (f"kneser cut_file (all {cores} threads)", cores, every["cut_file"], jieba_acc),
        ("jieba cut(cut_all=True)", 1, jieba_full, jieba_full),
        ("kneser cut_batch(cut_all=True)", 1, one["cut_batch_all"], jieba_full),
        ("kneser cut_batch(cut_all=True), all threads", cores, every["cut_batch_all"], jieba_full),
    ]
    if rjieba is not None:
        # The ratio columns of these rows compare with rjieba (jieba-rs; no batch call of its own).
        rows += [
            ("rjieba cut(hmm=False) [vs rjieba]", 1, rj, rj),
            ("kneser cut, a Python loop [vs rjieba]", 1, one["cut_loop"], rj),
            (f"kneser cut_batch (all {cores} threads) [vs rjieba]", cores, every["cut_batch"], rj),
        ]
    head = f"{'':44} {'threads':>7} {'seconds':>8} {'chars/s':>12} {'vs jieba':>9}"
    print(f"{head} {'CPU s':>8} {'CPU vs jieba':>12}")
    for name, threads, (secs, cpu), (base, base_cpu) in rows:
        line = f"{name:44} {threads:>7} {secs:8.3f} {chars / secs:12,.0f} {base / secs:8.1f}x"
        print(f"{line} {cpu:8.3f} {base_cpu / cpu:11.1f}x")
    emit_rows(args, lines, chars, jieba_acc, one, every)


def emit_rows(args, lines, chars, jieba_acc, one, every) -> None:  # type: ignore[no-untyped-def]
    """The rows of benchmarks/run_all.py's table: kneser against rjieba (jieba-rs's binding)
    and jieba, HMM off, with the words checked equal (nothing happens when run standalone)."""
    import os

    from _common import ROWS_ENV, emit_row, skip_row

    if not os.environ.get(ROWS_ENV):
        return
    import jieba

    import kneser

    seg = kneser.Segmenter.from_dict(args.dict)
    ours = [list(w) for w in seg.cut_batch(lines)]
    same_jieba = ours == [list(jieba.cut(t, HMM=False)) for t in lines]
    rate = lambda t: f"{chars / t[0] / 1e6:.2f} M chars/s"  # noqa: E731
    loop, batch = one["cut_loop"], every["cut_batch"]
    cpu = lambda a, b: b[1] / a[1]  # noqa: E731
    anchors = [("jieba", jieba_acc, same_jieba, None, None)]
    try:
        import rjieba
    except ImportError:
        skip_row("Segmenter.cut vs rjieba", "rjieba not installed", ">= 2x")
        skip_row("Segmenter.cut_batch vs rjieba", "rjieba not installed", ">= 3x")
    else:
        rj = best_of(args.repeat, lambda: [rjieba.cut(t, False) for t in lines])
        same_rj = ours == [list(rjieba.cut(t, False)) for t in lines]
        anchors.insert(0, ("rjieba", rj, same_rj, (">=", 2.0), (">=", 3.0)))
    for anchor, theirs, same, goal_loop, goal_batch in anchors:
        for how, mine, goal in [
            ("cut (a Python loop)", loop, goal_loop),
            ("cut_batch (all threads)", batch, goal_batch),
        ]:
            emit_row(
                f"Segmenter.{how} vs {anchor}, HMM off",
                rate(mine),
                rate(theirs),
                theirs[0] / mine[0],
                goal,
                cpu_ratio=cpu(mine, theirs),
                identical=same,
            )


if __name__ == "__main__":
    main()
