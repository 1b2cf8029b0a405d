"""Order-N estimation, kneser against lmplz side by side: `kneser build` and KenLM's `lmplz`
with the same flags on the same corpus, one after the other in this invocation; wall time, CPU
time (user + sys) and peak RSS of each, their ratios, and whether the two ARPA files are
byte-identical (md5).

    python benchmarks/bench_estimate.py                      # en and zh, order 5, -S 2G and 200M
    python benchmarks/bench_estimate.py --corpus en --memory 200M
    python benchmarks/bench_estimate.py --large              # + a 1 GB corpus, -S 1G
    python benchmarks/bench_estimate.py --lines 50000        # the first 50,000 lines only

lmplz is `$KNESER_LMPLZ`, else ~/.cache/kneser-anchors/kenlm-build/bin/lmplz (built by
../shared/tools/build-kenlm.sh); without it kneser alone is measured and the comparison is
skipped. Build kneser with `maturin develop --release` first.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import CACHE, Measure, corpus, emit_row, measure, skip_row

LMPLZ = Path(
    os.environ.get("KNESER_LMPLZ", Path.home() / ".cache/kneser-anchors/kenlm-build/bin/lmplz")
)
# The goals (kneser / lmplz): wall-time ratio, and a peak-RSS bound per budget
# ("lmplz" = no more than lmplz's, else megabytes).
GOALS = {"2G": (0.25, "lmplz"), "200M": (0.33, 300.0), "1G": (0.33, 1100.0)}


def md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def head(src: Path, lines: int, dst: Path) -> Path:
    """The first `lines` lines of `src` as a file."""
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        for i, line in enumerate(fin):
            if i == lines:
                break
            fout.write(line)
    return dst


def large_corpus(dst: Path, size: int) -> Path:
    """About `size` bytes of text from the bundled corpora: en-bench and zh-bench repeated,
    every other copy with the words of each line in reverse order (new n-grams, so that the
    corpus is not only the same counts multiplied; at 1 GB they still are, mostly, hence the
    row's --discount_fallback)."""
    sources = [corpus("en").read_bytes(), corpus("zh").read_bytes()]
    written, k = 0, 0
    with open(dst, "wb") as f:
        while written < size:
            data = sources[k % 2]
            if (k // 2) % 2 == 1:
                data = b"\n".join(b" ".join(ln.split()[::-1]) for ln in data.splitlines()) + b"\n"
            f.write(data)
            written += len(data)
            k += 1
    return dst


def fmt(m: Measure) -> str:
    return f"{m.wall:.1f} s (cpu {m.user + m.sys:.1f} s)"


def run_pair(
    label: str,
    path: Path,
    order: int,
    memory: str,
    threads: int,
    tmp: Path,
    extra: tuple[str, ...] = (),
) -> tuple[Measure, Measure | None, bool | None]:
    """Runs kneser then lmplz on `path`, both with the flags `extra`; (kneser's measure,
    lmplz's or None, identical)."""
    ours, theirs = tmp / "kneser.arpa", tmp / "lmplz.arpa"
    cmd = [
        sys.executable, "-m", "kneser.cli", "build", "-q", "-o", str(order), "-S", memory,
        "-T", str(tmp), "--threads", str(threads), "--text", str(path), "--arpa", str(ours), *extra,
    ]  # fmt: skip
    k = measure(cmd)
    ours_md5 = md5(ours) if k.returncode == 0 and ours.exists() else None
    ours.unlink(missing_ok=True)
    print(f"{label}: kneser {k.row()}")
    if k.returncode != 0:
        print(f"  kneser failed with exit code {k.returncode}")
    if not LMPLZ.exists():
        print(f"  lmplz not found at {LMPLZ}: comparison skipped")
        return k, None, None
    cmd = [str(LMPLZ), "-o", str(order), "-S", memory, "-T", str(tmp) + "/", "--text", str(path),
           *extra]  # fmt: skip
    with open(theirs, "wb") as out:
        lm = measure([*cmd, "--arpa", str(theirs)], stderr=subprocess.DEVNULL, stdout=out)
    same = ours_md5 is not None and lm.returncode == 0 and md5(theirs) == ours_md5
    theirs.unlink(missing_ok=True)
    print(f"{label}: lmplz  {lm.row()}")
    print(
        f"  kneser / lmplz: wall {k.wall / lm.wall:.2f}x  cpu "
        f"{(k.user + k.sys) / (lm.user + lm.sys):.2f}x  peak RSS {k.rss_mb / lm.rss_mb:.2f}x  "
        f"ARPA byte-identical: {same}"
    )
    return k, lm, same


def report(label: str, memory: str, k: Measure, lm: Measure | None, same: bool | None) -> None:
    wall_goal, rss_goal = GOALS.get(memory, (None, None))
    goal_text = ""
    if wall_goal is not None:
        rss_text = "RSS <= lmplz's" if rss_goal == "lmplz" else f"RSS <= {rss_goal:g} MB"
        goal_text = f"<= {wall_goal:g}x wall, {rss_text}"
    if lm is None:
        skip_row(label, f"lmplz not found ({LMPLZ})", goal_text)
        return
    if lm.returncode != 0 or k.returncode != 0:
        who = "lmplz" if lm.returncode != 0 else "kneser"
        code = lm.returncode or k.returncode
        emit_row(label, fmt(k), fmt(lm), None, goal_text=goal_text, met=False,
                 identical=f"{who} failed (exit code {code})")  # fmt: skip
        return
    ratio = k.wall / lm.wall
    met = None
    if wall_goal is not None:
        rss_bound = lm.rss_mb if rss_goal == "lmplz" else float(rss_goal)  # type: ignore[arg-type]
        met = ratio <= wall_goal and k.rss_mb <= rss_bound and bool(same)
    cpu = (k.user + k.sys) / (lm.user + lm.sys)
    emit_row(
        label,
        fmt(k),
        fmt(lm),
        ratio,
        met=met,
        goal_text=goal_text,
        rss=f"{k.rss_mb:.0f} / {lm.rss_mb:.0f} MB",
        cpu_ratio=cpu,
        identical=same,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", action="append", help="en, zh or a path (default: en and zh)")
    ap.add_argument("--memory", action="append", help="budgets (default: 2G and 200M)")
    ap.add_argument("--order", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--lines", type=int, default=0, help="only the first N lines of each corpus")
    ap.add_argument("--large", action="store_true", help="also a 1 GB corpus at -S 1G")
    ap.add_argument("--large-bytes", type=int, default=10**9, help=argparse.SUPPRESS)
    args = ap.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for name in args.corpus or ["en", "zh"]:
        for memory in args.memory or ["2G", "200M"]:
            with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
                path = corpus(name)
                label = f"build -o {args.order} -S {memory}, {Path(path).stem}"
                if args.lines:
                    path = head(path, args.lines, Path(tmp) / "head.txt")
                    label += f" (first {args.lines:,} lines)"
                report(label, memory, *run_pair(label, path, args.order, memory, args.threads,
                                                Path(tmp)))  # fmt: skip
    if args.large:
        with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            path = large_corpus(Path(tmp) / "large.txt", args.large_bytes)
            size = path.stat().st_size
            label = f"build -o {args.order} -S 1G --discount_fallback, {size / 1e9:.2f} GB corpus"
            work = Path(tmp) / "work"
            work.mkdir()
            # Copies of the bundled corpora make counts-of-counts no real text has (at 1 GB the
            # 3-gram D3+ goes negative and both tools refuse); both get lmplz's fallback
            # discounts, so the row measures the work at scale.
            fallback = ("--discount_fallback",)
            pair = run_pair(label, path, args.order, "1G", args.threads, work, fallback)
            report(label, "1G", *pair)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
